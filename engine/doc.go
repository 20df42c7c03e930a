// Package engine is the venue as a replicated service: it decodes the
// commands the cluster sequenced into its log, routes them to instruments'
// order books, and sends execution reports to the sessions that own the
// orders.
//
// This file's package owns the wire schema (codec.schema, generated into
// codec_gen.go): fixed-layout little-endian messages with an 8-byte header
// (block length, template id, schema id, version), read and written in place
// by flyweights. Commands and reports carry client order ids, accounts and
// principals as fixed ASCII fields so that no decode allocates.
//
// The engine never reads a clock, a random source or the environment, starts
// no goroutine and never depends on map iteration order: the same log gives
// the same state and the same reports, byte for byte, on every member and in
// offline replay.
package engine

//go:generate go run ./internal/codecgen -in codec.schema -out codec_gen.go
