//go:build !linux

package seedbox

import "os"

// trustStamp is what a file's metadata says about its content: size and
// modification time (the change time and inode are read on Linux only).
type trustStamp struct {
	size, mtime int64
}

// stampFile returns the stamp of path; the zero stamp when it cannot be
// read, which never matches a real one.
func stampFile(path string) trustStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return trustStamp{}
	}
	return trustStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
