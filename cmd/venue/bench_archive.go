package main

import (
	"encoding/json"
	"fmt"
	"io"

	"venue/archive"
)

func init() {
	registerBench(benchTarget{
		name:    "archive",
		summary: "record, raw-write baseline and replay of a message stream on disk (--size, --fsync none|data)",
		run:     runBenchArchive,
	})
}

func runBenchArchive(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench archive", stderr)
	size := fs.Int("size", 200, "message payload `bytes`")
	fsync := fs.String("fsync", "none", "fsync `policy`: none, data or data+metadata")
	totalMB := fs.Int64("mb", 256, "stream `MiB` to record (whole 16 MiB terms)")
	batch := fs.Int("batch", 256<<10, "write batch `bytes` (one append, one sync)")
	segment := fs.Int("segment", archive.SegmentLengthDefault, "segment file `bytes`")
	dir := fs.String("dir", "", "parent `directory` for the temporary archive (default: system temp dir)")
	checksums := fs.Bool("checksums", true, "stamp and check a CRC32C per data frame")
	replicate := fs.Bool("replicate", false, "also replicate the recording to a second archive over loopback UDP")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	policy, err := archive.ParseFsyncPolicy(*fsync)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	res, err := archive.RunBench(archive.BenchConfig{Dir: *dir, MessageLength: *size, Fsync: policy,
		TotalBytes: *totalMB << 20, BatchLength: *batch, SegmentLength: int32(*segment), DisableChecksums: !*checksums, Replicate: *replicate})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "archive bench: %d messages of %d bytes, %d MB, fsync %s, checksums %v, %d-byte batches, %d rounds\n",
		res.Messages, res.MessageLength, res.Bytes/1e6, res.Fsync, res.Checksums, res.BatchLength, res.Rounds)
	fmt.Fprintf(stdout, "  record  %12.0f msgs/s %9.1f MB/s (%.0f%% of raw; medians of rounds)\n", res.RecordMsgsPerSec, res.RecordMBPerSec, 100*res.RecordVsRaw)
	fmt.Fprintf(stdout, "  raw                         %9.1f MB/s (preallocated file: %.1f MB/s)\n", res.RawMBPerSec, res.RawPreallocMBPerSec)
	fmt.Fprintf(stdout, "  durable lag p50 %d ns, p99 %d ns, max %d ns\n", res.DurableLagP50Ns, res.DurableLagP99Ns, res.DurableLagMaxNs)
	fmt.Fprintf(stdout, "  replay  %12.0f msgs/s %9.1f MB/s\n", res.ReplayMsgsPerSec, res.ReplayMBPerSec)
	if *replicate {
		fmt.Fprintf(stdout, "  replicate over loopback UDP %12.0f msgs/s %9.1f MB/s\n", res.ReplicateMsgsPerSec, res.ReplicateMBPerSec)
	}
	return nil
}
