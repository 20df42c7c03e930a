// Package peer is the member-to-member consensus transport of a venue
// cluster: it implements module.Transport over the venue UDP transport
// (transport/), the way Aeron Cluster's ConsensusPublisher and
// ConsensusAdapter ride Aeron publications and a subscription.
//
// Each member has one subscription on its own consensus endpoint and one
// exclusive publication per other member, aimed at that member's endpoint
// and bound to this member's host so that receivers see a stable source
// address. Send offers an encoded consensus message and never blocks or
// retries: back pressure and "not connected" return false and are counted,
// because consensus recovers from any loss. Poll reassembles fragmented
// messages (bounded per image), authenticates the sender and hands each
// message to the caller with the member id it came from.
//
// # Trust
//
// Only configured members may speak. A message is delivered only if
//
//  1. it decodes as a consensus message (consensus.DecodeMessage);
//  2. its claimed sender (Message.From) is a configured member other than
//     this one, and the image it arrived on comes from that member's
//     configured host (the source address of the UDP stream);
//  3. when a shared secret is configured, its trailer is the HMAC-SHA256
//     (truncated to MACLength bytes) of the message bytes, the sender id and
//     the destination id, checked in constant time.
//
// The source check alone stops other hosts; members that share a host (all
// of them on loopback) can only be told apart by the MAC, which is why the
// secret exists. The MAC binds sender and destination but carries no
// sequence number: a recorded message can be replayed to the same member.
// Raft tolerates duplicated and stale messages, so a replay can delay but
// not corrupt; confidentiality is not provided. Every dropped message is
// counted (Counters), never a panic.
//
// Reassembly buffers are bounded: at most wireMax bytes per message and
// 2*MembersMax images with a buffer. Only images from a member's host get
// one; an image that has delivered a valid message keeps it, and when all
// are taken a newcomer takes the slot of the oldest image that has not
// (so that streams forged from a member's host cannot crowd out the
// member's own), or else receives unfragmented messages only.
//
// The transport matches data frames to an image by session id, not by
// source address, so without a secret the source check trusts that an
// off-host sender cannot learn a member's session id. Set a secret when
// that matters.
//
// # Log multicast
//
// With Config.Multicast set, every member also joins the multicast group
// and owns a publication to it (bound to its host, flow control fc=max: the
// fastest follower paces it, as a quorum needs only that one). Send routes
// each AppendLog the consensus core addresses to a follower (router):
// log never sent before in the term goes once to the group; a follower in
// step with the group is skipped for log the group already carried
// (MulticastSkipped); a follower that is not (catch-up, lagging, or the
// group failed it) gets its own copy by unicast, and joins the group again
// at new log once its AppendPosition shows nothing sent to it by unicast is
// still in flight. Every resend the leader makes goes by unicast. Only
// AppendLog uses the group; every other message is unicast.
//
// On the receiving side a group message passes the same checks (source
// host, MAC) with the MAC bound to a group destination id instead of this
// member's id, must be an AppendLog, and is handed on as if addressed to
// this member. Group log that starts beyond the log this member was handed
// in the term would only be rejected by the node: it is held, up to four
// of the largest messages, until the member's own stream reaches it (a
// follower rejoining the group), or else dropped (MulticastAhead). Where
// other members run on its machine, a member's group stream loops back to
// it too (otherwise the publication turns loopback off): it skips that
// stream unread, and since it keeps up, fc=max lets the group run as fast
// as the leader offers; a follower that falls a term behind loses its
// group image and is served by unicast until it rejoins.
//
// Consensus never depends on the group: a lost or dropped group message
// leaves a gap the consensus core heals by its usual catch-up or
// retransmit, by unicast.
//
// # Sizes
//
// The largest consensus message is an AppendLog with Config.AppendDataMax
// bytes of log data (default consensus.AppendDataLengthMax). New picks the
// smallest term length whose transport.MaxMessageLength holds it (a term
// length is at least 8 times the largest message), or validates the one
// given. Pass consensus Config.AppendBatchBytes as AppendDataMax to keep
// the log buffers small (64 KiB batches need 1 MiB terms, the 1 MiB
// maximum needs 16 MiB terms; each publication and each image holds three).
//
// # Threading
//
// Send, Poll and Close are called by the member's agent goroutine; Send and
// Poll keep separate buffers and MAC state, so one goroutine may send while
// another polls. Counters may be read from any goroutine. Several members
// (Transports) may share one transport.Driver.
//
// It does not decode messages for the node (the module agent does), order
// or deduplicate them, or resolve host names.
package peer
