package seedbox

import (
	"os"
	"syscall"
)

// trustStamp is what a file's metadata says about its content: any write,
// truncation, replacement or touch changes it (the change time cannot be
// set back, unlike the modification time).
type trustStamp struct {
	size, mtime, ctime int64
	ino, dev           uint64
}

// stampFile returns the stamp of path; the zero stamp when it cannot be
// read, which never matches a real one.
func stampFile(path string) trustStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return trustStamp{}
	}
	st := trustStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ctime = sys.Ctim.Nano()
		st.ino, st.dev = sys.Ino, uint64(sys.Dev)
	}
	return st
}
