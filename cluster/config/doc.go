// Package config is the cluster configuration file: one TOML file that
// describes every member, read by `venue node --config FILE --id N`,
// `venue cluster --config FILE ...` and written by `venue run` (so that the
// file it used can be copied for a multi-process run).
//
// The file has a [cluster] table of settings shared by every member and one
// [[member]] table per member:
//
//	[cluster]
//	data_dir = "./venue-data"        # <data_dir>/member-<id> unless the member sets data_dir
//	fsync = "data"                   # none | data
//	secret = ""                      # member-to-member MAC key: plain text, or "hex:" + hex digits
//	heartbeat_interval = "25ms"      # durations are Go duration strings
//	leader_heartbeat_timeout = "200ms"
//	election_timeout = "100ms"
//	session_timeout = "10s"
//	max_sessions = 256
//	max_message_bytes = 16384
//	session_ingress_limit = 1024     # per-session messages in flight (not yet committed)
//	snapshot_keep = 3
//	snapshot_interval = "0s"         # 0: no scheduled snapshots
//	log_multicast = ""               # "239.255.20.1:40201": replicate the log on this group; "": unicast
//	log_multicast_interface = ""     # "lo" for members on loopback; "": the system default
//	log_multicast_ttl = 1
//
//	[[member]]
//	id = 0
//	host = "127.0.0.1"
//	ingress = "127.0.0.1:9010"
//	consensus = "127.0.0.1:9020"
//	log = "127.0.0.1:9030"
//	catchup = "127.0.0.1:9040"
//	archive = "127.0.0.1:9050"
//	# data_dir = "/srv/venue/member-0"
//
// Keys left out of [cluster] take the defaults above (DefaultSettings).
// Unknown keys inside [cluster] and [[member]] are errors, so that a typo
// never silently falls back to a default; other top-level tables are
// ignored, because cmd/venue keeps its own tables ([venue], [gateway],
// [marketdata], [[instrument]]) in the same file and checks them with
// UnknownKeys and CheckTopLevel.
//
// Parse validates everything a member needs before it opens a socket or a
// file: dense member ids, IPv4 endpoints that are unique, timeouts that
// satisfy consensus.Config.Validate, limits within named bounds. Every error
// names the key and says what to do.
//
// It owns the file format and its mapping onto consensus.Config
// (ConsensusConfig) and peer.Config (PeerConfig). It does not open
// sockets, create directories or know what the other tables mean.
package config
