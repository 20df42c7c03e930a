//go:build !linux

package orderbook

// hugeMapper maps nothing off Linux: every array comes from the Go heap.
var hugeMapper = bigMapper{}
