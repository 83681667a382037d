package view

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	reset  = "\x1b[0m"
)

// Paint colours a status: green Synced, Healthy and Succeeded; yellow Progressing and OutOfSync;
// red Degraded, Missing and Failed. Anything else, and everything without Color, stays plain.
func (t Terminal) Paint(status string) string {
	if !t.Color {
		return status
	}
	c := colorOf(status)
	if c == "" {
		return status
	}
	return c + status + reset
}

func colorOf(status string) string {
	switch {
	case status == "Synced" || status == "Healthy" || status == "Succeeded":
		return green
	case status == "Progressing" || status == "OutOfSync":
		return yellow
	case status == "Degraded" || status == "Missing" || strings.HasPrefix(status, "Failed"):
		return red
	}
	return ""
}

// Table writes a header and rows with columns aligned three spaces apart, as kubectl does. The
// columns numbered in painted hold statuses and are coloured. On a terminal the last column is
// cut to fit the width. Cells may come from the server: they are made Safe.
func (t Terminal) Table(w io.Writer, header []string, rows [][]string, painted ...int) error {
	all := safeRows(append([][]string{header}, rows...))
	if t.TTY && len(header) > 1 && t.lastColumnStart(all, len("   ")) > t.Width-len(header[len(header)-1]) {
		// Not even the last column's title fits: leave the column out rather than wrap.
		for i := range all {
			all[i] = all[i][:len(all[i])-1]
		}
	}
	lines := t.align(all, "   ", painted, 1)
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// lastColumnStart is where the last column begins once the others are padded and joined.
func (t Terminal) lastColumnStart(rows [][]string, sep int) int {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r[:max(len(r)-1, 0)] {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	start := 0
	for _, w := range widths {
		start += w + sep
	}
	return start
}

// align makes every cell Safe, pads every column but the last to its widest cell, joins with
// sep, paints the columns in painted (in rows from firstPainted on) and, on a terminal, cuts the
// last column to the width.
func (t Terminal) align(rows [][]string, sep string, painted []int, firstPainted int) []string {
	rows = safeRows(rows)
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r[:max(len(r)-1, 0)] {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	paint := map[int]bool{}
	for _, p := range painted {
		paint[p] = true
	}
	out := make([]string, 0, len(rows))
	for n, r := range rows {
		var b strings.Builder
		used := 0
		for i, c := range r {
			last := i == len(r)-1
			if last {
				c = oneLine(c)
				if t.TTY {
					// Never wrap on a terminal: the last column gets what is left, or nothing.
					c = Cut(c, t.Width-used)
				}
			}
			text := c
			if paint[i] && n >= firstPainted {
				text = t.Paint(c)
			}
			b.WriteString(text)
			used += utf8.RuneCountInString(c)
			if !last {
				pad := widths[i] - utf8.RuneCountInString(c)
				b.WriteString(strings.Repeat(" ", pad) + sep)
				used += pad + len(sep)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// safeRows is rows with every cell made Safe, so widths are measured on what is printed.
func safeRows(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, c := range r {
			out[i][j] = Safe(c)
		}
	}
	return out
}

// Cut shortens s to at most width characters, ending in "…" when it cut; nothing is left when
// width is 0 or less.
func Cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	if width <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
