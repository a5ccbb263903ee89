package seedbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ledgerDir is the seedbox's own folder on a volume; it travels with the
// volume's content when the volume is remounted elsewhere.
const ledgerDir = ".seedbed"

const (
	ledgerFile  = "verified.json"
	cleanMarker = "clean"
)

// Ledger remembers, for one volume, which replicas were verified and the
// size and modification time of each of their files at that moment, so a
// restart after a clean shutdown can take them as verified without hashing
// them again. The knowledge is kept only across a clean shutdown: opening a
// ledger removes the volume's clean marker, and only Close writes it back, so
// after a crash (marker missing) every replica is verified again. A file
// whose size or modification time changed is always verified again.
type Ledger struct {
	dir string

	mu      sync.Mutex
	entries map[string][]fileStamp
	dirty   bool
	clean   bool // the previous run shut down cleanly
}

type fileStamp struct {
	Size  int64 `json:"s"`
	MTime int64 `json:"m"` // nanoseconds since the epoch
}

// OpenLedger loads the ledger of the volume rooted at root.
func OpenLedger(root string) (*Ledger, error) {
	l := &Ledger{dir: filepath.Join(root, ledgerDir), entries: map[string][]fileStamp{}}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	marker := filepath.Join(l.dir, cleanMarker)
	if _, err := os.Stat(marker); err == nil {
		l.clean = true
		if b, err := os.ReadFile(filepath.Join(l.dir, ledgerFile)); err == nil {
			if json.Unmarshal(b, &l.entries) != nil {
				l.entries = map[string][]fileStamp{}
			}
		}
	}
	if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return l, nil
}

// WasClean tells whether the previous run shut down cleanly.
func (l *Ledger) WasClean() bool { return l.clean }

// Len is the number of replicas known to be verified.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Trusted tells whether the replica of infoHash was verified and its files
// still have the sizes and modification times they had then.
func (l *Ledger) Trusted(infoHash string, files []fileSpan) bool {
	l.mu.Lock()
	want, ok := l.entries[infoHash]
	l.mu.Unlock()
	if !ok || len(want) != len(files) {
		return false
	}
	for i, f := range files {
		st, err := stampOf(f.path)
		if err != nil || st != want[i] || st.Size != f.length {
			return false
		}
	}
	return true
}

// Record notes that the replica of infoHash was just verified.
func (l *Ledger) Record(infoHash string, files []fileSpan) error {
	stamps := make([]fileStamp, len(files))
	for i, f := range files {
		st, err := stampOf(f.path)
		if err != nil {
			return fmt.Errorf("record %s: %w", infoHash, err)
		}
		stamps[i] = st
	}
	l.mu.Lock()
	l.entries[infoHash] = stamps
	l.dirty = true
	l.mu.Unlock()
	return nil
}

// Forget drops what is known about a replica (it is corrupt or gone).
func (l *Ledger) Forget(infoHash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.entries[infoHash]; ok {
		delete(l.entries, infoHash)
		l.dirty = true
	}
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}, nil
}

// Flush writes the ledger to disk if it changed (write, fsync, rename).
func (l *Ledger) Flush() error {
	l.mu.Lock()
	if !l.dirty {
		l.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(l.entries)
	l.dirty = false
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("flush ledger: %w", err)
	}
	if err := writeFileSync(filepath.Join(l.dir, ledgerFile), b); err != nil {
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
		return fmt.Errorf("flush ledger: %w", err)
	}
	return nil
}

// Close flushes the ledger and marks the shutdown clean. Call it only once
// nothing writes to the volume any more.
func (l *Ledger) Close() error {
	if err := l.Flush(); err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(l.dir, cleanMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n")); err != nil {
		return fmt.Errorf("mark clean shutdown: %w", err)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}
