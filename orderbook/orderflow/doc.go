// Package orderflow reads and writes OBSTRM01 order-flow files: a 48-byte
// header followed by fixed 32-byte little-endian command records (new order,
// cancel, amend) for one or more instruments. The format and its semantics
// are described in ../shared/orderflow/README.md.
//
// It owns decoding, validation and encoding of the format. Records are
// flyweights over the file's bytes: reading one copies nothing. It does not
// own what the commands mean to a book; see orderbook/replay for that.
package orderflow
