/* SPDX-License-Identifier: MIT */
/*
 * MESSAGE_ID values of appwatch's journal records, made once with
 * `systemd-id128 new`. Each has an entry in systemd/appwatch.catalog.
 */
#pragma once

#define MESSAGE_ID_STARTED "e25da710f0e04fb29ced892e3e57d031"
#define MESSAGE_ID_RELOADED "da3df9a867c246908e0b13fe858dba8b"
#define MESSAGE_ID_CONFIG_REJECTED "36aa99e033eb4a2f8003da1ef8670f4c"
#define MESSAGE_ID_STORE_QUARANTINED "99c7170e96d84ebaac84428405f781db"
#define MESSAGE_ID_STOPPING "42888aa8837f4425bcfa9385dbc37739"
#define MESSAGE_ID_INCIDENT "a0b02017ea2f4919842924bd58c5ac37"
#define MESSAGE_ID_INCIDENT_REGRESSION "bfe03c3e826e42d78b868730adfe9f31"
#define MESSAGE_ID_INCIDENT_STATUS "1aa644ee07f64b62aa05e4d0a0ea93e2"
#define MESSAGE_ID_CURSOR_RESET "4ce037b6b6394f2e9bddf529e8248cc0"
#define MESSAGE_ID_DELIVERY_HELD "721af06c4ec44e54b3a63e40de098720"
#define MESSAGE_ID_RULE_DISABLED "74b35a5adfd747ac921cdec936b2922b"
