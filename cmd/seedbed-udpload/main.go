// Command seedbed-udpload is a load generator for UDP BitTorrent trackers
// (BEP 15, with the passkey as BEP 41 URL data): it keeps many announces in
// flight and checks every reply as a real peer list. bench/tracker.sh uses it
// to compare Seedbed's UDP tracker with others; it works against any BEP 15
// tracker.
//
//	seedbed-udpload -addr 127.0.0.1:6969 -infohashes ih.txt [-passkeys pk.txt] [-duration 10s]
//	seedbed-udpload -addr 127.0.0.1:6969 -infohashes ih.txt -fill 1000000
//
// It prints one line of key=value pairs: rate (valid announces per second),
// ok, invalid, lost, late, empty, peers_per_reply, p50_us, p99_us. It exits
// with status 1 when any reply was invalid.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/seedbed/seedbed/internal/udpload"
)

func main() {
	var o udpload.Options
	ihFile := flag.String("infohashes", "", "file of info hashes, 40 hex characters a line (required)")
	pkFile := flag.String("passkeys", "", "file of passkeys, one a line: sent as BEP 41 URL data /announce/<passkey>")
	flag.StringVar(&o.Addr, "addr", "127.0.0.1:6969", "the tracker's UDP address")
	flag.IntVar(&o.Sockets, "sockets", 4, "client sockets")
	flag.IntVar(&o.Window, "window", 32, "announces in flight per socket")
	flag.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to run at most")
	flag.IntVar(&o.Requests, "requests", 0, "stop after this many announces (0: only -duration)")
	flag.IntVar(&o.Fill, "fill", 0, "announce exactly this many distinct peers, spread evenly over the torrents")
	numWant := flag.Int("numwant", 50, "numwant of each announce")
	flag.DurationVar(&o.Timeout, "timeout", time.Second, "an announce unanswered for this long is lost")
	flag.Parse()
	o.NumWant = int32(*numWant)
	if *ihFile == "" {
		fmt.Fprintln(os.Stderr, "seedbed-udpload: -infohashes is required")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o, *ihFile, *pkFile); err != nil {
		fmt.Fprintln(os.Stderr, "seedbed-udpload:", err)
		os.Exit(1)
	}
}

func run(o udpload.Options, ihFile, pkFile string) error {
	lines, err := udpload.ReadLines(ihFile)
	if err != nil {
		return err
	}
	for i, l := range lines {
		var ih [20]byte
		if n, err := hex.Decode(ih[:], []byte(l)); err != nil || n != 20 {
			return fmt.Errorf("%s line %d: not a 40-hex info hash", ihFile, i+1)
		}
		o.InfoHashes = append(o.InfoHashes, ih)
	}
	if pkFile != "" {
		if o.Passkeys, err = udpload.ReadLines(pkFile); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := udpload.Run(ctx, o)
	if err != nil {
		return err
	}
	perReply := 0.0
	if res.OK > 0 {
		perReply = float64(res.Peers) / float64(res.OK)
	}
	fmt.Printf("rate=%.0f ok=%d invalid=%d lost=%d late=%d empty=%d peers_per_reply=%.1f p50_us=%d p99_us=%d elapsed_s=%.2f\n",
		res.Rate(), res.OK, res.Invalid, res.Lost, res.Late, res.Empty, perReply,
		res.Latency(0.50).Microseconds(), res.Latency(0.99).Microseconds(), res.Elapsed.Seconds())
	if res.Invalid > 0 {
		return fmt.Errorf("%d invalid replies; first: %s", res.Invalid, res.FirstErr)
	}
	if o.Fill > 0 && res.OK < int64(o.Fill) {
		return fmt.Errorf("filled only %d of %d peers within %s", res.OK, o.Fill, o.Duration)
	}
	return nil
}
