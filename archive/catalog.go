package archive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
)

// Catalog file layout:
//
//	header  catalogHeaderLength bytes: magic, version, slot length, CRC32C
//	records two slots of catalogSlotLength per recording id, at
//	        catalogHeaderLength + id*2*catalogSlotLength
//
// The file is created under a temporary name, synced, renamed into place and
// the directory synced, so a crash never leaves a half-made catalog. Each
// descriptor update writes the slot not holding the newest version and is
// synced before the operation it records is acknowledged.
const (
	catalogFileName     = "archive.catalog"
	catalogTempFileName = "archive.catalog.tmp"
	catalogMagic        = "VNARCAT1"
	catalogVersion      = 1

	catalogHeaderLength        = catalogSlotLength
	catalogHeaderVersionOff    = 8
	catalogHeaderSlotLenOff    = 12
	catalogHeaderChecksumOff   = 16
	catalogRecordLength        = 2 * catalogSlotLength
	catalogRecordingsMax       = 1 << 20 // bounds the file to 1 GiB
	catalogHeaderChecksummed   = 16
	catalogReadChunkRecords    = 256
	catalogReadChunkLength     = catalogReadChunkRecords * catalogRecordLength
	catalogUnknownSequence     = ^uint64(0)
	catalogSlotA, catalogSlotB = 0, 1
)

// catalogEntry is the in-memory state of one recording's catalog record.
type catalogEntry struct {
	desc     Descriptor
	sequence uint64 // of the newest version
	slot     int    // which slot holds the newest version
}

// catalog is the durable list of recordings. It is not safe for concurrent
// use; the Archive serialises access.
type catalog struct {
	fsys    FS
	dir     string
	file    File
	entries []*catalogEntry // by recording id; nil where no record survived
	slot    []byte          // scratch for one slot write
}

func encodeCatalogHeader(b []byte) {
	clear(b)
	copy(b, catalogMagic)
	binary.LittleEndian.PutUint32(b[catalogHeaderVersionOff:], catalogVersion)
	binary.LittleEndian.PutUint32(b[catalogHeaderSlotLenOff:], catalogSlotLength)
	binary.LittleEndian.PutUint32(b[catalogHeaderChecksumOff:], crc32.Checksum(b[:catalogHeaderChecksummed], castagnoli))
}

func checkCatalogHeader(b []byte) error {
	switch {
	case len(b) < catalogHeaderLength || string(b[:len(catalogMagic)]) != catalogMagic:
		return fmt.Errorf("%w: bad magic", ErrCorruptCatalog)
	case binary.LittleEndian.Uint32(b[catalogHeaderChecksumOff:]) != crc32.Checksum(b[:catalogHeaderChecksummed], castagnoli):
		return fmt.Errorf("%w: header checksum", ErrCorruptCatalog)
	case binary.LittleEndian.Uint32(b[catalogHeaderVersionOff:]) != catalogVersion:
		return fmt.Errorf("%w: unsupported version %d", ErrCorruptCatalog, binary.LittleEndian.Uint32(b[catalogHeaderVersionOff:]))
	case binary.LittleEndian.Uint32(b[catalogHeaderSlotLenOff:]) != catalogSlotLength:
		return fmt.Errorf("%w: slot length %d", ErrCorruptCatalog, binary.LittleEndian.Uint32(b[catalogHeaderSlotLenOff:]))
	}
	return nil
}

// openCatalog opens the catalog in dir, creating it when missing.
func openCatalog(fsys FS, dir string) (*catalog, error) {
	c := &catalog{fsys: fsys, dir: dir, slot: make([]byte, catalogSlotLength)}
	f, err := fsys.OpenFile(joinPath(dir, catalogFileName), false)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = c.create()
	}
	if err != nil {
		return nil, fmt.Errorf("archive: open catalog in %s: %w", dir, err)
	}
	c.file = f
	if err := c.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("archive: load catalog in %s: %w", dir, err)
	}
	return c, nil
}

func (c *catalog) create() (File, error) {
	tmp := joinPath(c.dir, catalogTempFileName)
	f, err := c.fsys.OpenFile(tmp, true)
	if err != nil {
		return nil, err
	}
	header := make([]byte, catalogHeaderLength)
	encodeCatalogHeader(header)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(header, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err == nil {
		err = c.fsys.Rename(tmp, joinPath(c.dir, catalogFileName))
	}
	if err == nil {
		err = c.fsys.SyncDir(c.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("create catalog: %w", err)
	}
	return c.fsys.OpenFile(joinPath(c.dir, catalogFileName), false)
}

// load reads every record of the catalog file.
func (c *catalog) load() error {
	size, err := c.file.Size()
	if err != nil {
		return err
	}
	header := make([]byte, catalogHeaderLength)
	if _, err := c.file.ReadAt(header, 0); err != nil && err != io.EOF {
		return err
	}
	if err := checkCatalogHeader(header); err != nil {
		return err
	}
	records := min((size-catalogHeaderLength+catalogRecordLength-1)/catalogRecordLength, catalogRecordingsMax)
	buf := make([]byte, catalogReadChunkLength)
	for first := int64(0); first < records; first += catalogReadChunkRecords {
		clear(buf)
		n, err := c.file.ReadAt(buf, catalogHeaderLength+first*catalogRecordLength)
		if err != nil && err != io.EOF {
			return err
		}
		c.parseRecords(buf[:n], first)
	}
	return nil
}

// parseRecords decodes the records in buf, whose first is recording id
// first. A partial record at the end (a torn extension) is decoded as far as
// its slots are whole.
func (c *catalog) parseRecords(buf []byte, first int64) {
	for i := 0; i*catalogRecordLength < len(buf); i++ {
		rec := buf[i*catalogRecordLength : min((i+1)*catalogRecordLength, len(buf))]
		id := first + int64(i)
		if e := newestSlot(rec, id); e != nil {
			for int64(len(c.entries)) <= id {
				c.entries = append(c.entries, nil)
			}
			c.entries[id] = e
		}
	}
}

// newestSlot returns the newest valid version among a record's slots.
func newestSlot(rec []byte, id int64) *catalogEntry {
	var best *catalogEntry
	for slot := catalogSlotA; slot <= catalogSlotB; slot++ {
		off := slot * catalogSlotLength
		if off+catalogSlotLength > len(rec) {
			break
		}
		d, seq, ok := descriptorSlot(rec[off : off+catalogSlotLength]).decode()
		if !ok || d.RecordingID != id {
			continue
		}
		if best == nil || seq > best.sequence {
			best = &catalogEntry{desc: d, sequence: seq, slot: slot}
		}
	}
	return best
}

// nextID is the id a new recording gets: ids are never reused.
func (c *catalog) nextID() int64 { return int64(len(c.entries)) }

// get returns the entry of id, or nil.
func (c *catalog) get(id int64) *catalogEntry {
	if id < 0 || id >= int64(len(c.entries)) {
		return nil
	}
	return c.entries[id]
}

// reserve makes room for ids up to id (for orphan segment files whose
// record was lost), so that a new recording never reuses their id.
func (c *catalog) reserve(id int64) {
	for int64(len(c.entries)) <= id {
		c.entries = append(c.entries, nil)
	}
}

// put durably writes d as the newest version of its record.
func (c *catalog) put(d *Descriptor) error {
	assert(d.validate() == nil, "storing invalid descriptor %+v: %v", d, d.validate())
	if d.RecordingID >= catalogRecordingsMax {
		return fmt.Errorf("%w: catalog holds at most %d recordings", ErrInvalidParams, catalogRecordingsMax)
	}
	e := c.get(d.RecordingID)
	slot, seq := catalogSlotA, uint64(1)
	if e != nil {
		slot, seq = 1-e.slot, e.sequence+1
	}
	descriptorSlot(c.slot).encode(d, seq)
	off := catalogHeaderLength + d.RecordingID*catalogRecordLength + int64(slot)*catalogSlotLength
	if _, err := c.file.WriteAt(c.slot, off); err != nil {
		return fmt.Errorf("archive: write catalog record %d: %w", d.RecordingID, err)
	}
	if err := c.file.SyncData(); err != nil {
		return fmt.Errorf("archive: sync catalog record %d: %w", d.RecordingID, err)
	}
	c.reserve(d.RecordingID)
	c.entries[d.RecordingID] = &catalogEntry{desc: *d, sequence: seq, slot: slot}
	return nil
}

func (c *catalog) close() error { return c.file.Close() }
