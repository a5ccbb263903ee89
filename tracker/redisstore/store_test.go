package redisstore

import (
	"context"
	"crypto/sha1"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/internal/testenv"
	"github.com/seedbed/seedbed/tracker"
	"github.com/seedbed/seedbed/tracker/storetest"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial of TestRedisRestart to stderr; the
	// tests check the errors the store returns instead.
	redis.SetLogger(discardLogger{})
	testenv.Main(m)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

var prefixSeq atomic.Int64

// testClient connects to a fresh database of the shared test Redis.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	c := testClient(t)
	storetest.Run(t, func() tracker.PeerStore {
		return New(c, Options{Prefix: fmt.Sprintf("conf%d:", prefixSeq.Add(1))})
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.Redis(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Prefix() != DefaultPrefix {
		t.Errorf("prefix %q, want %q", s.Prefix(), DefaultPrefix)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testPeer(n int, addr string, seeder bool, lastSeen uint32) tracker.Peer {
	var id [20]byte
	copy(id[:], fmt.Sprintf("-SB0001-%012d", n))
	return tracker.NewPeer(id, netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(1000+n)), seeder, lastSeen)
}

var (
	ihA = sha1.Sum([]byte("torrent a"))
	ihB = sha1.Sum([]byte("torrent b"))
)

func anyRequester(seeder bool) tracker.Requester {
	lan, err := tracker.NewLAN(tracker.LANConfig{})
	if err != nil {
		panic(err)
	}
	return lan.Requester([]tracker.Peer{testPeer(99999, "192.0.2.1", seeder, 0)})
}

func mustPut(t *testing.T, s tracker.PeerStore, ih [20]byte, peers ...tracker.Peer) {
	t.Helper()
	for _, p := range peers {
		if err := s.PutPeer(context.Background(), ih, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s := New(c, Options{Prefix: "layout:"})
	seeder := testPeer(1, "10.1.2.3", true, 0x01020304)
	seeder.Class = tracker.ClassCampus | tracker.ClassSeedbox | 7
	leecher := testPeer(2, "2001:db8::2", false, 5)
	mustPut(t, s, ihA, seeder, leecher)
	if _, err := s.Snatch(ctx, ihA, leecher.ID); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("layout:sw:%x", ihA)
	wantKeys := []string{"layout:expiry", base + ":c", base + ":l", base + ":s", "layout:totals"}
	if keys := sortedKeys(t, c, "layout:*"); !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %q, want %q", keys, wantKeys)
	}
	// field: peer_id + family; record: peer_id, address, port, class, LastSeen.
	wantRec := string(seeder.ID[:]) + string(netip.MustParseAddr("::ffff:10.1.2.3").AsSlice()) +
		"\x03\xe9" + "\xc7" + "\x01\x02\x03\x04"
	if got := c.HGet(ctx, base+":s", string(seeder.ID[:])+"4").Val(); got != wantRec {
		t.Errorf("seeder record %q, want %q", got, wantRec)
	}
	if n := c.HLen(ctx, base+":l").Val(); n != 1 || !c.HExists(ctx, base+":l", string(leecher.ID[:])+"6").Val() {
		t.Errorf("leechers hash has %d fields, want the IPv6 leecher's", n)
	}
	if score := c.ZScore(ctx, "layout:expiry", string(ihA[:])+string(seeder.ID[:])+"4").Val(); score != 0x01020304 {
		t.Errorf("expiry score %v, want the LastSeen %d", score, 0x01020304)
	}
	if got := c.HGetAll(ctx, "layout:totals").Val(); !maps.Equal(got, map[string]string{"swarms": "1", "seeders": "1", "leechers": "1"}) {
		t.Errorf("totals %v", got)
	}
	for _, p := range []tracker.Peer{seeder, leecher} {
		if err := s.RemovePeer(ctx, ihA, p); err != nil {
			t.Fatal(err)
		}
	}
	if keys := sortedKeys(t, c, "layout:*"); !slices.Equal(keys, []string{base + ":c", "layout:totals"}) {
		t.Errorf("keys %q after the swarm emptied, want only its snatches and the totals", keys)
	}
	if got := c.HGetAll(ctx, "layout:totals").Val(); !maps.Equal(got, map[string]string{"swarms": "0", "seeders": "0", "leechers": "0"}) {
		t.Errorf("totals %v after the swarm emptied", got)
	}
}

func sortedKeys(t *testing.T, c *redis.Client, pattern string) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// TestExpiryInBatches expires more peers than one script run removes, while
// another node (a second Store on its own connection) refreshes some.
func TestExpiryInBatches(t *testing.T) {
	ctx := context.Background()
	url := testenv.Redis(t)
	one, err := Open(ctx, url, Options{Prefix: "exp:"})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	two, err := Open(ctx, url, Options{Prefix: "exp:"})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	const swarms, perSwarm = 50, 60 // 3000 peers: three batches
	var ihs [][20]byte
	for i := range swarms {
		ih := sha1.Sum([]byte{byte(i)})
		ihs = append(ihs, ih)
		for n := range perSwarm {
			mustPut(t, one, ih, testPeer(n, fmt.Sprintf("10.0.%d.%d", i, n), n%4 == 0, uint32(100+n)))
		}
	}
	for n := range 10 { // node two refreshes the first ten peers of swarm 0
		mustPut(t, two, ihs[0], testPeer(n, fmt.Sprintf("10.0.0.%d", n), n%4 == 0, 5000))
	}
	removed, err := one.RemoveExpired(ctx, 1000)
	if err != nil || removed != swarms*perSwarm-10 {
		t.Fatalf("RemoveExpired: %d %v, want %d", removed, err, swarms*perSwarm-10)
	}
	if c, err := two.Counts(ctx, ihs[0]); err != nil || c.Seeders+c.Leechers != 10 {
		t.Errorf("swarm 0 counts %+v %v, want the 10 refreshed peers", c, err)
	}
	if c, err := two.Counts(ctx, ihs[1]); err != nil || c != (tracker.SwarmCounts{}) {
		t.Errorf("swarm 1 counts %+v %v, want empty", c, err)
	}
	if tot, err := two.Totals(ctx); err != nil || tot != (tracker.StoreTotals{Swarms: 1, Seeders: 3, Leechers: 7}) {
		t.Errorf("totals %+v %v, want 1 swarm, 3 seeders, 7 leechers", tot, err)
	}
	if n, err := one.RemoveExpired(ctx, 1000); err != nil || n != 0 {
		t.Errorf("second RemoveExpired: %d %v, want 0", n, err)
	}
	if n := one.client.ZCard(ctx, one.expiryKey).Val(); n != 10 {
		t.Errorf("expiry index holds %d peers, want 10", n)
	}
}

// TestNodesShareSwarms runs two stores on separate connections, as two
// nodes do: each sees the other's peers at once, and the counts stay exact
// while both write the same swarms.
func TestNodesShareSwarms(t *testing.T) {
	ctx := context.Background()
	url := testenv.Redis(t)
	var nodes [2]*Store
	for i := range nodes {
		s, err := Open(ctx, url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes[i] = s
	}
	mustPut(t, nodes[0], ihA, testPeer(1, "10.0.0.1", true, 100))
	got, err := nodes[1].AppendPeers(ctx, ihA, anyRequester(false), 10, nil)
	if err != nil || len(got) != 1 || got[0] != testPeer(1, "10.0.0.1", true, 100) {
		t.Fatalf("node two got %+v %v, want node one's peer", got, err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		s := nodes[g%2]
		wg.Go(func() {
			for i := range 300 {
				ih := [][20]byte{ihA, ihB}[i%2]
				p := testPeer(i%40, fmt.Sprintf("10.0.1.%d", i%40), (i+g)%3 == 0, uint32(100+i))
				if i%5 == g%5 {
					s.RemovePeer(ctx, ih, p)
				} else {
					s.PutPeer(ctx, ih, p)
				}
				if i%100 == 99 {
					s.RemoveExpired(ctx, 150)
				}
			}
		})
	}
	wg.Wait()
	var want tracker.StoreTotals
	for _, ih := range [][20]byte{ihA, ihB} {
		c, err := nodes[0].Counts(ctx, ih)
		if err != nil {
			t.Fatal(err)
		}
		all, err := nodes[1].AppendPeers(ctx, ih, anyRequester(false), 1000, nil)
		if err != nil || len(all) != c.Seeders+c.Leechers {
			t.Errorf("counts %+v disagree with %d peers listed (%v)", c, len(all), err)
		}
		if c.Seeders+c.Leechers > 0 {
			want.Swarms++
		}
		want.Seeders += c.Seeders
		want.Leechers += c.Leechers
	}
	if got, err := nodes[1].Totals(ctx); err != nil || got != want {
		t.Errorf("totals %+v %v, want %+v", got, err, want)
	}
	if n := nodes[0].client.ZCard(ctx, nodes[0].expiryKey).Val(); int(n) != want.Seeders+want.Leechers {
		t.Errorf("expiry index holds %d peers, want %d", n, want.Seeders+want.Leechers)
	}
}

// TestRedisRestart stops Redis under a store: every call fails with a clear
// error (no panic, no hang), and after Redis is back the store works again
// on its own (new connections, scripts loaded again).
func TestRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	s, err := Open(ctx, srv.URL(0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustPut(t, s, ihA, testPeer(1, "10.0.0.1", true, 100))
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	p := testPeer(2, "10.0.0.2", false, 100)
	calls := map[string]func() error{
		"PutPeer":    func() error { return s.PutPeer(ctx, ihA, p) },
		"RemovePeer": func() error { return s.RemovePeer(ctx, ihA, p) },
		"AppendPeers": func() error {
			_, err := s.AppendPeers(ctx, ihA, anyRequester(false), 10, nil)
			return err
		},
		"Counts":        func() error { _, err := s.Counts(ctx, ihA); return err },
		"CountNetworks": func() error { _, err := s.CountNetworks(ctx, ihA); return err },
		"Totals":        func() error { _, err := s.Totals(ctx); return err },
		"Snatch":        func() error { _, err := s.Snatch(ctx, ihA, p.ID); return err },
		"RemoveExpired": func() error { _, err := s.RemoveExpired(ctx, 1000); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") || !strings.Contains(err.Error(), "connect") {
			t.Errorf("%s with Redis down: %v, want a redisstore error about the connection", name, err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The connection pool dials again in the background once a second
	// after failed dials: the store is back within a few seconds.
	for name, call := range calls {
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err = call(); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("%s 10 s after Redis is back: %v", name, err)
		}
	}
	mustPut(t, s, ihA, p)
	got, err := s.AppendPeers(ctx, ihA, anyRequester(false), 10, nil)
	if err != nil || len(got) != 1 || got[0] != p {
		t.Errorf("after the restart got %+v %v, want only the peer put since", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "http://127.0.0.1:6379", Options{}); err == nil || !strings.Contains(err.Error(), "redis url") {
		t.Errorf("Open of an http URL: %v, want a redis url error", err)
	}
	srv := testenv.StartRedis(t)
	srv.Stop()
	_, err := Open(ctx, srv.URL(0), Options{})
	if want := "connect to redis at " + srv.Addr(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open with Redis down: %v, want %q", err, want)
	}
}

// TestCorruptRecord: a value the store did not write is an error, not a
// panic or a wrong peer.
func TestCorruptRecord(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s := New(c, Options{})
	mustPut(t, s, ihA, testPeer(1, "10.0.0.1", true, 100))
	c.HSet(ctx, s.keys(&ihA).seeders, "junk", "not a record")
	if _, err := s.AppendPeers(ctx, ihA, anyRequester(false), 10, nil); err == nil || !strings.Contains(err.Error(), "43-byte") {
		t.Errorf("AppendPeers over a corrupt record: %v", err)
	}
}
