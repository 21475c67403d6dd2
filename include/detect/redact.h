/* SPDX-License-Identifier: MIT */
/*
 * Redaction of secrets and personal data from text that leaves the host
 * (Gemini prompts, Slack messages, Notion pages). Replaces, with stable
 * placeholders "[REDACTED:<kind>#<n>]" (the same value gets the same n within
 * one call):
 *
 *   private_key      PEM private key blocks
 *   google_api_key   AIza...
 *   slack_webhook    https://hooks.slack.com/services/...
 *   slack_token      xoxb-/xoxp-/xapp-...
 *   github_token     ghp_/gho_/ghs_/ghu_/ghr_/github_pat_...
 *   aws_access_key   AKIA.../ASIA...
 *   openai_key       sk-...
 *   notion_token     secret_.../ntn_...
 *   jwt              eyJ....eyJ....sig
 *   authorization    the value after "Authorization:" (scheme and credentials)
 *   bearer           the credentials after "Bearer"
 *   url_credentials  user:password in scheme://user:password@host
 *   password         the value of password=/passwd=/pwd= pairs
 *   token            the value of token=/secret=/api_key=/... pairs
 *   email            e-mail addresses
 *
 * Commit hashes, UUIDs, version strings and ordinary words stay. Works on
 * arbitrary bytes (no UTF-8 requirement). Thread-safe: the patterns are
 * compiled once, on first use.
 */
#pragma once

#include <stddef.h>

/* Version of the patterns and placeholders; part of the cache key of AI
 * answers (what the AI saw depends on it). Bump it whenever a pattern or a
 * placeholder changes. */
#define DETECT_REDACT_VERSION 1

/* Redacts in[0..len) into a new NUL-terminated string. Returns the number of
 * replacements (>= 0), -ENOMEM, or -EIO if the patterns cannot be compiled. */
int detect_redact(const char *in, size_t len, char **ret);
