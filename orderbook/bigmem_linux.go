package orderbook

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeMapper maps chunks with anonymous private mappings advised
// MADV_HUGEPAGE. A mapping is 2 MiB-aligned only by chance, so it maps a
// huge page more than asked and unmaps the unaligned head and tail.
var hugeMapper = bigMapper{mapChunk: mapHugeChunk, unmapChunk: unmapChunk}

func mapHugeChunk(bytes uintptr) (unsafe.Pointer, error) {
	span := bytes + hugePageBytes
	p, err := unix.MmapPtr(-1, 0, nil, span, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("orderbook: map %d bytes: %w", span, err)
	}
	head := (hugePageBytes - uintptr(p)%hugePageBytes) % hugePageBytes
	base := unsafe.Add(p, head)
	if head > 0 {
		if err := unix.MunmapPtr(p, head); err != nil {
			_ = unix.MunmapPtr(p, span)
			return nil, fmt.Errorf("orderbook: unmap head of %d bytes: %w", head, err)
		}
	}
	if tail := span - head - bytes; tail > 0 {
		if err := unix.MunmapPtr(unsafe.Add(base, bytes), tail); err != nil {
			_ = unix.MunmapPtr(base, span-head)
			return nil, fmt.Errorf("orderbook: unmap tail of %d bytes: %w", tail, err)
		}
	}
	if err := unix.Madvise(unsafe.Slice((*byte)(base), bytes), unix.MADV_HUGEPAGE); err != nil {
		_ = unix.MunmapPtr(base, bytes)
		return nil, fmt.Errorf("orderbook: advise huge pages on %d bytes: %w", bytes, err)
	}
	return base, nil
}

func unmapChunk(base unsafe.Pointer, bytes uintptr) error {
	if err := unix.MunmapPtr(base, bytes); err != nil {
		return fmt.Errorf("orderbook: unmap %d bytes: %w", bytes, err)
	}
	return nil
}
