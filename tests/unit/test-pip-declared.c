/* SPDX-License-Identifier: MIT */
/*
 * Tests for fix/declared: which files of an app name a distribution as its
 * dependency, and which look alike but do not (the project's own name,
 * keywords, classifiers, build requirements, URLs, comments, a symlink).
 * Real files in a temporary directory.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/engine.h"
#include "fix/declared.h"
#include "tests.h"

static int declared(const char *dir, const char *dist, const char *want_file) {
        _cleanup_free_ char *file = NULL;
        int r = fix_pip_declared(dir, dist, &file);

        if (r > 0 && want_file && strcmp(file, want_file) != 0) {
                fprintf(stderr, "%s declared in %s, expected %s\n", dist, file, want_file);
                return -1;
        }
        return r;
}

TEST(requirements_files) {
        char *d = test_tmpdir();    /* the test library owns it */

        free(test_write_file(d, "requirements.txt",
                             "# pinned\n"
                             "requests==2.31.0\n"
                             "  PyYAML >= 6 ; python_version > '3.8'  # config\n"
                             "-r requirements-dev.txt\n"
                             "-e .\n"
                             "--index-url https://pypi.example/simple\n"
                             "https://example.com/pkgs/wheelonly-1.0-py3-none-any.whl\n"
                             "./vendored\n"
                             "opencv_python[contrib]\n"));
        ASSERT_EQ(declared(d, "requests", "requirements.txt"), 1);
        ASSERT_EQ(declared(d, "pyyaml", "requirements.txt"), 1);          /* PEP 503 */
        ASSERT_EQ(declared(d, "opencv-python", "requirements.txt"), 1);   /* _ and - alike */
        ASSERT_EQ(declared(d, "https", NULL), 0);                         /* a URL's scheme */
        ASSERT_EQ(declared(d, "wheelonly", NULL), 0);
        ASSERT_EQ(declared(d, "vendored", NULL), 0);
        ASSERT_EQ(declared(d, "pinned", NULL), 0);                        /* a comment */
        ASSERT_EQ(declared(d, "index-url", NULL), 0);
        free(test_write_file(d, "requirements-dev.txt", "pytest\n"));
        ASSERT_EQ(declared(d, "pytest", "requirements-dev.txt"), 1);
        _cleanup_free_ char *sub = NULL;
        ASSERT_TRUE(asprintf(&sub, "%s/requirements", d) > 0);
        ASSERT_EQ(mkdir(sub, 0755), 0);
        free(test_write_file(d, "requirements/prod.txt", "gunicorn\n"));
        ASSERT_EQ(declared(d, "gunicorn", "requirements/prod.txt"), 1);
        ASSERT_EQ(declared(d, "flask", NULL), 0);
        return 0;
}

TEST(pyproject_and_pipfile) {
        char *d = test_tmpdir();    /* the test library owns it */

        free(test_write_file(d, "pyproject.toml",
                             "[build-system]\n"
                             "requires = [\"setuptools>=61\", \"wheel\"]\n"
                             "\n"
                             "[project]\n"
                             "name = \"mytool\"\n"
                             "keywords = [\"numpy\", \"build\"]\n"
                             "classifiers = [\n"
                             "  \"Programming Language :: Python\",\n"
                             "]\n"
                             "dependencies = [\n"
                             "    \"httpx>=0.27\",\n"
                             "    'rich',  # output\n"
                             "]\n"
                             "\n"
                             "[project.optional-dependencies]\n"
                             "dev = [\"ruff\", \"mypy>=1\"]\n"
                             "\n"
                             "[tool.poetry.dependencies]\n"
                             "python = \"^3.11\"\n"
                             "pendulum = \"^3\"\n"
                             "\n"
                             "[tool.poetry.group.test.dependencies]\n"
                             "hypothesis = \"*\"\n"
                             "\n"
                             "[tool.ruff]\n"
                             "select = [\"flake8\"]\n"));
        ASSERT_EQ(declared(d, "httpx", "pyproject.toml"), 1);
        ASSERT_EQ(declared(d, "rich", "pyproject.toml"), 1);
        ASSERT_EQ(declared(d, "ruff", "pyproject.toml"), 1);
        ASSERT_EQ(declared(d, "mypy", "pyproject.toml"), 1);
        ASSERT_EQ(declared(d, "pendulum", "pyproject.toml"), 1);
        ASSERT_EQ(declared(d, "hypothesis", "pyproject.toml"), 1);
        /* Alike, but no dependency of the app: */
        ASSERT_EQ(declared(d, "mytool", NULL), 0);        /* its own name */
        ASSERT_EQ(declared(d, "numpy", NULL), 0);         /* a keyword */
        ASSERT_EQ(declared(d, "programming", NULL), 0);   /* a classifier */
        ASSERT_EQ(declared(d, "wheel", NULL), 0);         /* a build requirement */
        ASSERT_EQ(declared(d, "python", NULL), 0);
        ASSERT_EQ(declared(d, "flake8", NULL), 0);

        char *e = test_tmpdir();
        free(test_write_file(e, "Pipfile",
                             "[[source]]\nurl = \"https://pypi.org/simple\"\nname = \"pypi\"\n\n"
                             "[packages]\nDjango = \"*\"\n\n[dev-packages]\nblack = \"*\"\n\n"
                             "[requires]\npython_version = \"3.11\"\n"));
        ASSERT_EQ(declared(e, "django", "Pipfile"), 1);
        ASSERT_EQ(declared(e, "black", "Pipfile"), 1);
        ASSERT_EQ(declared(e, "pypi", NULL), 0);
        ASSERT_EQ(declared(e, "python-version", NULL), 0);
        return 0;
}

TEST(symlinks_bad_input_and_no_files) {
        char *d = test_tmpdir(), *other = test_tmpdir();
        _cleanup_free_ char *target = test_write_file(other, "requirements.txt", "secretpkg\n");
        _cleanup_free_ char *link = NULL;

        ASSERT_TRUE(asprintf(&link, "%s/requirements.txt", d) > 0);
        ASSERT_EQ(symlink(target, link), 0);
        ASSERT_EQ(declared(d, "secretpkg", NULL), 0);     /* a symlink is not followed */
        ASSERT_EQ(declared(other, "secretpkg", "requirements.txt"), 1);
        ASSERT_EQ(fix_pip_declared("relative/dir", "requests", NULL), -EINVAL);
        ASSERT_EQ(fix_pip_declared(d, "x; rm -rf /", NULL), -EINVAL);
        ASSERT_EQ(fix_pip_declared(d, "--index-url=x", NULL), -EINVAL);
        ASSERT_EQ(fix_pip_declared("/nonexistent/app", "requests", NULL), 0);
        return 0;
}

TEST(well_known_distributions) {
        ASSERT_TRUE(detect_python_distribution_known("PyYAML"));
        ASSERT_TRUE(detect_python_distribution_known("pyyaml"));
        ASSERT_TRUE(detect_python_distribution_known("opencv_python"));
        ASSERT_TRUE(detect_python_distribution_known("requests"));
        ASSERT_TRUE(!detect_python_distribution_known("reqeusts"));       /* a typo */
        ASSERT_TRUE(!detect_python_distribution_known("mytool"));
        ASSERT_TRUE(!detect_python_distribution_known(NULL));
        return 0;
}
