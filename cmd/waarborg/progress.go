package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// progressBar redraws one status line on a terminal while input is read.
type progressBar struct {
	done chan struct{}
	wg   chan struct{}
}

func startProgress(w *os.File, label string, total int64, read *atomic.Int64) *progressBar {
	p := &progressBar{done: make(chan struct{}), wg: make(chan struct{})}
	start := time.Now()
	draw := func() {
		n := read.Load()
		rate := float64(n) / time.Since(start).Seconds() / (1 << 20)
		if total > 0 {
			const width = 30
			frac := min(float64(n)/float64(total), 1)
			fill := int(frac * width)
			fmt.Fprintf(w, "\r%s [%s%s] %3.0f%% %.1f MiB/s ", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, rate)
		} else {
			fmt.Fprintf(w, "\r%s %.1f MiB read, %.1f MiB/s ", label, float64(n)/(1<<20), rate)
		}
	}
	go func() {
		defer close(p.wg)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return p
}

func (p *progressBar) stop() {
	close(p.done)
	<-p.wg
}
