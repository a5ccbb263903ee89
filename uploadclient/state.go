package uploadclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// State remembers the URL of each unfinished upload by its fingerprint, in
// memory and, when it has a path, in a JSON file, so a new run resumes.
type State struct {
	mu   sync.Mutex
	path string
	urls map[string]string
}

// MemoryState remembers uploads only while the program runs.
func MemoryState() *State { return &State{urls: make(map[string]string)} }

// OpenState loads the state file at path; a missing file is an empty state.
func OpenState(path string) (*State, error) {
	s := &State{path: path, urls: make(map[string]string)}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("upload state: %w", err)
	}
	if err := json.Unmarshal(b, &s.urls); err != nil {
		// A damaged state only costs a restart of unfinished uploads.
		s.urls = make(map[string]string)
	}
	return s, nil
}

// DefaultStatePath is uploads.json in the user's cache folder.
func DefaultStatePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "seedbed", "uploads.json"), nil
}

// Get returns the upload URL remembered for key.
func (s *State) Get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.urls[key]
	return u, ok
}

// Put remembers an upload URL.
func (s *State) Put(key, u string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.urls[key] = u
	return s.save()
}

// Forget drops a finished or dead upload.
func (s *State) Forget(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.urls[key]; !ok {
		return nil
	}
	delete(s.urls, key)
	return s.save()
}

// save writes the file atomically; the caller holds mu.
func (s *State) save() error {
	if s.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("upload state: %w", err)
	}
	b, _ := json.MarshalIndent(s.urls, "", "  ")
	f, err := os.CreateTemp(filepath.Dir(s.path), ".uploads-*.tmp")
	if err != nil {
		return fmt.Errorf("upload state: %w", err)
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("upload state: %w", werr)
	}
	if err := os.Rename(f.Name(), s.path); err != nil {
		return fmt.Errorf("upload state: %w", err)
	}
	return nil
}
