package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedbed/seedbed/catalog"
)

// acctStep is one announce of a scripted client session.
type acctStep struct {
	node           int // index of the node it goes to
	event          string
	up, down, left int64
}

// acctSession is one client (peer_id) of one user on one torrent.
type acctSession struct {
	user, torrent int // user -1: the seedbox
	seedbox       bool
	passkey       string
	peerID        string // 20 bytes
	port          int
	steps         []acctStep
}

// script writes n announces, drawn from seed, going to nodes nodes: by
// seed, round robin, a random node each time, or a home node left now and
// then (a hop mid-session). A session starts, grows its counters, and now
// and then stops (and starts again later), restarts without a stop with its
// counters started over (announced with or without event=started),
// completes, or says completed again.
func (s *acctSession) script(seed int64, n, nodes int) {
	r := rand.New(rand.NewPCG(uint64(seed), 6))
	mode, home := seed%3, r.IntN(nodes)
	running := false
	var up, down int64
	left := int64(1 << 30)
	grow := func() {
		up += r.Int64N(1 << 20)
		if left > 0 {
			d := min(left, r.Int64N(64<<20))
			down, left = down+d, left-d
		}
	}
	for i := range n {
		st := acctStep{}
		switch mode {
		case 0:
			st.node = (i + int(seed)) % nodes
		case 1:
			st.node = r.IntN(nodes)
		default:
			if r.IntN(8) == 0 {
				home = r.IntN(nodes)
			}
			st.node = home
		}
		switch p := r.IntN(100); {
		case !running:
			st.event, running = "started", true
			if r.IntN(2) == 0 { // a new process: counters from about zero
				up, down = r.Int64N(1000), r.Int64N(1000)
			}
		case p < 4:
			grow()
			st.event, running = "stopped", false
		case p < 9: // a restart without a stop: counters start over (or one of them)
			switch r.IntN(3) {
			case 0:
				up, down = r.Int64N(up/2+1), r.Int64N(down/2+1)
			case 1:
				up += r.Int64N(1 << 20)
				down = r.Int64N(down/2 + 1)
			default:
				up = r.Int64N(up/2 + 1)
				d := min(left, r.Int64N(1<<20))
				down, left = down+d, left-d
			}
			if r.IntN(2) == 0 {
				st.event = "started"
			}
		case p < 13 && left > 0:
			grow()
			st.event, left = "completed", 0
		case p < 15 && left == 0:
			st.event = "completed" // again: no second snatch
		default:
			grow()
		}
		st.up, st.down, st.left = up, down, left
		s.steps = append(s.steps, st)
	}
}

// acctModel is what the catalog must hold after the scripts, by the rules
// of tracker/ledger.go (see TestThreeNodeAccounting10k).
type acctModel struct {
	announces          int
	userUp, userDown   []int64
	histUp, histDown   [][]int64 // [user][torrent]
	completed          [][]bool
	snatchedPeer       map[string]bool // torrent index + peer_id
	nUsers, nTorrents  int
	seedboxAnnounces   int
	seedboxCompletions int
	// What the scripts exercise, for the log.
	hops, restarts, stops, snatches int
}

func newAcctModel(nUsers, nTorrents int) *acctModel {
	m := &acctModel{userUp: make([]int64, nUsers), userDown: make([]int64, nUsers),
		snatchedPeer: map[string]bool{}, nUsers: nUsers, nTorrents: nTorrents}
	for range nUsers {
		m.histUp = append(m.histUp, make([]int64, nTorrents))
		m.histDown = append(m.histDown, make([]int64, nTorrents))
		m.completed = append(m.completed, make([]bool, nTorrents))
	}
	return m
}

// play applies one session's announces, in order, to the model. Sessions
// are independent: each has its own (user, torrent, peer_id) baseline.
func (m *acctModel) play(s *acctSession) {
	known := false
	var bu, bd int64
	for i, st := range s.steps {
		m.announces++
		if i > 0 && st.node != s.steps[i-1].node {
			m.hops++
		}
		if s.seedbox {
			m.seedboxAnnounces++
			if st.event == "completed" {
				m.seedboxCompletions++
			}
			continue
		}
		if known && (st.up < bu || st.down < bd) {
			m.restarts++
		}
		if known && st.up >= bu && st.down >= bd {
			du, dd := st.up-bu, st.down-bd
			m.userUp[s.user] += du
			m.userDown[s.user] += dd
			m.histUp[s.user][s.torrent] += du
			m.histDown[s.user][s.torrent] += dd
		}
		if st.event == "stopped" {
			known = false
			m.stops++
		} else {
			known, bu, bd = true, st.up, st.down
		}
		if k := fmt.Sprint(s.torrent, s.peerID); st.event == "completed" && !m.snatchedPeer[k] {
			m.snatchedPeer[k] = true
			m.completed[s.user][s.torrent] = true
			m.snatches++
		}
	}
}

// String sums up what the scripts exercise.
func (m *acctModel) String() string {
	var up, down int64
	for u := range m.userUp {
		up, down = up+m.userUp[u], down+m.userDown[u]
	}
	return fmt.Sprintf("%d announces (%d of the seedbox): %d hops between nodes, %d restarts, %d stops, %d first completions; credited %d B up, %d B down",
		m.announces, m.seedboxAnnounces, m.hops, m.restarts, m.stops, m.snatches, up, down)
}

// check compares the catalog with the model: every user's totals, every
// (user, torrent) history, every torrent's snatches, and a seedbox that
// earned nothing.
func (m *acctModel) check(ctx context.Context, cat *catalog.Catalog, users []*catalog.User, seedboxID uint64, torrents [][20]byte, torrentIDs []uint64) error {
	var bad []string
	for u, user := range users {
		got, err := cat.UserByID(ctx, user.ID)
		if err != nil {
			return err
		}
		if got.Uploaded != m.userUp[u] || got.Downloaded != m.userDown[u] {
			bad = append(bad, fmt.Sprintf("user %s: up=%d down=%d, want up=%d down=%d",
				user.Name, got.Uploaded, got.Downloaded, m.userUp[u], m.userDown[u]))
		}
		for tor, id := range torrentIDs {
			var st catalog.UserTorrentStats
			if p, err := cat.UserTorrentStats(ctx, user.ID, id); err == nil {
				st = *p
			} else if !errors.Is(err, catalog.ErrNotFound) {
				return err
			}
			if st.Uploaded != m.histUp[u][tor] || st.Downloaded != m.histDown[u][tor] || st.Completed != m.completed[u][tor] {
				bad = append(bad, fmt.Sprintf("history %s torrent %d: up=%d down=%d completed=%v, want up=%d down=%d completed=%v",
					user.Name, tor, st.Uploaded, st.Downloaded, st.Completed, m.histUp[u][tor], m.histDown[u][tor], m.completed[u][tor]))
			}
		}
	}
	for tor, ih := range torrents {
		want := 0
		for u := range users {
			want += b2i(m.completed[u][tor])
		}
		got, err := cat.TorrentByInfoHash(ctx, fmt.Sprintf("%x", ih))
		if err != nil {
			return err
		}
		if int(got.Snatches) != want {
			bad = append(bad, fmt.Sprintf("torrent %d: %d snatches, want %d", tor, got.Snatches, want))
		}
	}
	sb, err := cat.UserByID(ctx, seedboxID)
	if err != nil {
		return err
	}
	if sb.Uploaded != 0 || sb.Downloaded != 0 {
		bad = append(bad, fmt.Sprintf("seedbox credited up=%d down=%d over %d announces", sb.Uploaded, sb.Downloaded, m.seedboxAnnounces))
	}
	if len(bad) == 0 {
		return nil
	}
	n := len(bad)
	if len(bad) > 12 {
		bad = append(bad[:12], "…")
	}
	return fmt.Errorf("%d differences:\n%s", n, strings.Join(bad, "\n"))
}

// runAcctSessions sends every session's announces with workers workers,
// each over its own keep-alive HTTP client. A worker owns whole sessions
// (so each session's announces stay in order, each one answered before the
// next is sent) and takes turns between them, so all sessions run at once.
func runAcctSessions(nodes []*node, torrents [][20]byte, sessions []*acctSession, workers int) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second,
				Transport: &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 4}}
			defer client.CloseIdleConnections()
			var mine []*acctSession
			for i := w; i < len(sessions); i += workers {
				mine = append(mine, sessions[i])
			}
			for step := 0; ; step++ {
				sent := false
				for _, s := range mine {
					if step >= len(s.steps) {
						continue
					}
					sent = true
					if err := s.send(client, nodes, torrents, step); err != nil {
						errs[w] = err
						return
					}
				}
				if !sent {
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// send sends step i of s and checks the reply is a peer list.
func (s *acctSession) send(client *http.Client, nodes []*node, torrents [][20]byte, i int) error {
	st := s.steps[i]
	ih := torrents[s.torrent]
	q := "info_hash=" + url.QueryEscape(string(ih[:])) + "&peer_id=" + url.QueryEscape(s.peerID) +
		fmt.Sprintf("&port=%d&uploaded=%d&downloaded=%d&left=%d&compact=1&numwant=20", s.port, st.up, st.down, st.left)
	if st.event != "" {
		q += "&event=" + st.event
	}
	u := nodes[st.node].url + "/announce/" + s.passkey + "?" + q
	resp, err := client.Get(u)
	if err != nil {
		return fmt.Errorf("announce %s step %d: %w", s.peerID, i, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("announce %s step %d: %w", s.peerID, i, err)
	}
	var r lanReply
	if err := bencode.Unmarshal(body, &r); err != nil || r.FailureReason != "" || len(r.Peers)%6 != 0 || resp.StatusCode != 200 {
		return fmt.Errorf("announce %s step %d to node %d: HTTP %d %q (%v)", s.peerID, i, st.node+1, resp.StatusCode, body, err)
	}
	return nil
}
