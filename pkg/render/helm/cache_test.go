package helm

import (
	"fmt"
	"testing"
)

func TestLRUStaysWithinItsBudget(t *testing.T) {
	c := newLRU[string](10)
	for i := range 100 {
		c.add(fmt.Sprint(i), "v", 3)
		if c.size > c.max || int64(len(c.items))*3 != c.size || c.order.Len() != len(c.items) {
			t.Fatalf("after %d adds: size %d of %d, %d items, %d in order", i+1, c.size, c.max, len(c.items), c.order.Len())
		}
	}
	if _, ok := c.get("0"); ok {
		t.Error("the oldest entry was kept past the budget")
	}
	if _, ok := c.get("99"); !ok {
		t.Error("the newest entry was evicted")
	}
}

func TestLRUEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newLRU[int](3)
	c.add("a", 1, 1)
	c.add("b", 2, 1)
	c.add("c", 3, 1)
	c.get("a") // a is now the most recently used
	c.add("d", 4, 1)
	if _, ok := c.get("b"); ok {
		t.Error("b, the least recently used, was kept")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
}

func TestLRUReplacingCountsTheNewSize(t *testing.T) {
	c := newLRU[string](10)
	c.add("index", "old", 8)
	c.add("index", "new", 2)
	if v, _ := c.get("index"); v != "new" || c.size != 2 {
		t.Errorf("got %q with size %d, want the new value and size 2", v, c.size)
	}
	c.add("huge", "x", 11) // larger than the whole budget: not kept, nothing evicted for it
	if _, ok := c.get("huge"); ok || c.size != 2 {
		t.Errorf("an entry over the budget was kept (size %d)", c.size)
	}
}
