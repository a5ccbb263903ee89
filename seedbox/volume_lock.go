package seedbox

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the per-volume lock file, at the volume's root.
const lockFile = ".content.lock"

// LockContent takes an exclusive lock on the volume's content, shared by
// every process on this machine (flock): retention holds it while it deletes
// a purged torrent's data, publish while it stores the data of a revived
// one, so neither can undo the other even when `seedbed retention apply`
// runs beside a serving node. The kernel drops the lock if the process dies.
func (v Volume) LockContent() (unlock func(), err error) {
	if err := os.MkdirAll(v.Path, 0o755); err != nil {
		return nil, fmt.Errorf("lock volume %s: %w", v.Name, err)
	}
	f, err := os.OpenFile(filepath.Join(v.Path, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock volume %s: %w", v.Name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock volume %s: %w", v.Name, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
