package marketdata

import "time"

// Bounds and defaults. Every queue, table and loop in the package is limited
// by one of these; TestConstantRelationships checks how they relate.
const (
	// MTUDefault is the default largest datagram the publisher sends, in bytes:
	// a 1500-byte Ethernet frame less IP/UDP headers and room for tunnels.
	MTUDefault = 1408
	// mtuMin is the smallest MTU that still holds one full-depth update.
	mtuMin = packetHeaderLength + updateFixedLength + 2*LevelsPerSideMax*levelLength
	// mtuMax is the largest datagram the codec describes (a u16 length).
	mtuMax = 65507

	// DepthDefault is the default number of levels per side published.
	DepthDefault = 10
	// LevelsPerSideMax bounds the published depth (Config.Depth).
	LevelsPerSideMax = 20

	// InstrumentsMax bounds the instruments a publisher or subscriber tracks;
	// changes for further instruments are dropped and counted.
	InstrumentsMax = 1 << 16
	// bookLevelsPerSideMax bounds the full depth the publisher mirrors per
	// side; the engine's price band keeps real books far below it. A level
	// past the bound is dropped and counted.
	bookLevelsPerSideMax = 1 << 14

	// updatesPerDutyCycleMax bounds the instrument updates one DoWork sends,
	// so that snapshots and heartbeats interleave with a busy feed.
	updatesPerDutyCycleMax = 256
	// snapshotUpdatesPerDutyCycleMax bounds the snapshot entries one DoWork
	// sends, so that a large snapshot is spread over many duty cycles and
	// delays the updates of each cycle by a few packets only (a snapshot of
	// 1000 instruments takes 63 cycles).
	snapshotUpdatesPerDutyCycleMax = 16
	// tradesPerDutyCycleMax bounds the trades one DoWork sends.
	tradesPerDutyCycleMax = 256
	// tradeQueueLength is the capacity of the non-conflated trade queue
	// (a power of two); trades beyond it are dropped and counted.
	tradeQueueLength = 1 << 14

	// SnapshotIntervalDefault is how often a full snapshot starts.
	SnapshotIntervalDefault = 1 * time.Second
	// HeartbeatIntervalDefault is how long the channel may stay silent before
	// a heartbeat is sent.
	HeartbeatIntervalDefault = 100 * time.Millisecond

	// retiredSessionsMax is how many previous publisher sessions a subscriber
	// remembers, so that late packets of a deposed leader cannot flip it back.
	retiredSessionsMax = 8

	// sendBatchMax bounds the packets the publisher holds before handing them
	// to the Conn in one batch (one sendmmsg on Linux).
	sendBatchMax = 64

	// lateRunRestart is how many consecutive late packets of the current
	// session mean that its publisher restarted (reusing its session id)
	// rather than that the network reorders: reordering is never this deep.
	lateRunRestart = 64

	// receiveBatchMax bounds the datagrams a subscriber loop reads per cycle.
	receiveBatchMax = 64
)
