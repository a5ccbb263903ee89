package portal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

// A group's quota counts the uploads in progress of every member: two
// students of one dorm cannot together overshoot it, neither one after the
// other nor at the same moment. On SQLite and PostgreSQL.
func TestGroupQuotaCountsEveryMembersUploads(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			url := ""
			if dialect == "postgres" {
				url = testenv.Postgres(t)
			}
			testGroupQuota(t, &tusHarness{harness: newHarnessOn(t, url)})
		})
	}
}

func testGroupQuota(t *testing.T, h *tusHarness) {
	h.volume = h.app.opts.Volumes.List()[0].Path
	ctx := context.Background()
	gq := int64(1000)
	g, err := h.cat.CreateGroup(ctx, "Dorm B", &gq)
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{h.token}
	ids := []uint64{h.user.ID}
	for i := range 6 {
		u, err := h.cat.CreateUser(ctx, fmt.Sprintf("dorm%d", i), "correct horse", "user")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := h.cat.CreateToken(ctx, u.ID, "t")
		if err != nil {
			t.Fatal(err)
		}
		tokens, ids = append(tokens, tok), append(ids, u.ID)
	}
	for _, id := range ids {
		if err := h.cat.SetUserGroup(ctx, id, &g.ID); err != nil {
			t.Fatal(err)
		}
	}
	outsider, _ := h.cat.CreateUser(ctx, "outsider", "correct horse", "user")
	outTok, _ := h.cat.CreateToken(ctx, outsider.ID, "t")

	create := func(tok string, size int, name string) *http.Response {
		return h.req(t, "POST", "/api/v1/uploads/", tok, nil, map[string]string{
			"Upload-Length": strconv.Itoa(size), "Upload-Metadata": tusMeta("filename", name)})
	}
	// Member 0 starts a 600-byte upload and sends nothing yet.
	first := create(tokens[0], 600, "a.bin")
	if first.StatusCode != 201 {
		t.Fatalf("first member: %d %s", first.StatusCode, bodyOf(first))
	}
	// Member 1's 600 bytes would make 1200 of the dorm's 1000.
	if r := create(tokens[1], 600, "b.bin"); r.StatusCode != 413 || !strings.Contains(bodyOf(r), "Dorm B") {
		t.Errorf("second member over the group quota: %d %s", r.StatusCode, bodyOf(r))
	}
	body, ct := multipartBody(map[string]string{"b.bin": strings.Repeat("b", 600)}, nil)
	if r := h.req(t, "POST", "/api/v1/torrents", tokens[1], mustRead(body), map[string]string{"Content-Type": ct}); r.StatusCode != 413 {
		t.Errorf("second member's multipart over the group quota: %d %s", r.StatusCode, bodyOf(r))
	}
	// Someone outside the group is not held back by it.
	if r := create(outTok, 600, "o.bin"); r.StatusCode != 201 {
		t.Errorf("outsider: %d %s", r.StatusCode, bodyOf(r))
	}
	// Terminating the first upload frees its share.
	if r := h.req(t, "DELETE", first.Header.Get("Location"), tokens[0], nil, nil); r.StatusCode != 204 {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}

	// Six members at once, 300 bytes each, 1000 bytes of quota: exactly
	// three fit, whatever the order.
	var wg sync.WaitGroup
	codes := make(chan int, len(tokens)-1)
	for i := 1; i < len(tokens); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- create(tokens[i], 300, fmt.Sprintf("m%d.bin", i)).StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 3 || count[413] != 3 {
		t.Errorf("concurrent creations by six members answered %v, want three 201 and three 413", count)
	}
}
