package master

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/target"
)

// minionCache is the master's view of its minions: which keys are accepted,
// each minion's grains and pillar (for targeting), and when it was last seen.
// Submitting a job resolves its target here, never on disk.
type minionCache struct {
	m *Master

	mu       sync.RWMutex // guards accepted, minions
	accepted map[string]bool
	minions  map[string]*cachedMinion
}

type cachedMinion struct {
	grains   map[string]any
	pillar   map[string]any
	lastSeen time.Time
}

func newMinionCache(m *Master) *minionCache {
	return &minionCache{m: m, accepted: map[string]bool{}, minions: map[string]*cachedMinion{}}
}

// load fills the cache from the key store and the job store's minion table.
func (c *minionCache) load(ctx context.Context) error {
	ks, err := c.m.keys.List()
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, k := range ks {
		if k.State == keys.Accepted {
			c.accepted[k.ID] = true
		}
	}
	c.mu.Unlock()
	ms, err := c.m.store.ListMinions(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, mn := range ms {
		c.minions[mn.ID] = &cachedMinion{grains: mn.Grains, lastSeen: mn.LastSeen}
	}
	return nil
}

// keyChanged keeps the accepted set in step with the key store.
func (c *minionCache) keyChanged(e keys.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case e.To == keys.Accepted:
		c.accepted[e.ID] = true
	case e.From == keys.Accepted:
		delete(c.accepted, e.ID)
	}
}

func (c *minionCache) entry(id string) *cachedMinion {
	cm := c.minions[id]
	if cm == nil {
		cm = &cachedMinion{}
		c.minions[id] = cm
	}
	return cm
}

// setGrains records a minion's grains and persists them.
func (c *minionCache) setGrains(ctx context.Context, id string, grains map[string]any) {
	now := time.Now()
	c.mu.Lock()
	cm := c.entry(id)
	cm.grains, cm.lastSeen = grains, now
	c.mu.Unlock()
	if err := c.m.store.UpsertMinions(ctx, []jobstore.Minion{{ID: id, Grains: grains, LastSeen: now, Connected: true, Master: c.m.cfg.ID}}); err != nil {
		c.m.log.Warn("minion cache not stored", slog.String("minion", id), slog.Any("err", err))
	}
}

// setPillar records a minion's compiled pillar for pillar targeting. It is
// kept in memory only: pillar is secret and never written to the job store.
func (c *minionCache) setPillar(id string, pillar map[string]any) {
	c.mu.Lock()
	c.entry(id).pillar = pillar
	c.mu.Unlock()
}

func (c *minionCache) seen(id string) {
	c.mu.Lock()
	c.entry(id).lastSeen = time.Now()
	c.mu.Unlock()
}

func (c *minionCache) connected(id string) bool {
	return c.m.hub.SubscriberCount(MinionTopic(id)) > 0
}

// targets lists the minions a target may match: every accepted key, with
// whatever grains and pillar the cache holds.
func (c *minionCache) targets() []target.Minion {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]target.Minion, 0, len(c.accepted))
	for id := range c.accepted {
		mn := target.Minion{ID: id}
		if cm := c.minions[id]; cm != nil {
			mn.Grains, mn.Pillar = cm.grains, cm.pillar
		}
		out = append(out, mn)
	}
	return out
}

// resolve returns the sorted ids of accepted minions that tgt matches.
func (c *minionCache) resolve(tgt, tgtType string) ([]string, error) {
	t, err := c.m.matcher.Compile(tgt, tgtType)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, mn := range t.Filter(c.targets()) {
		ids = append(ids, mn.ID)
	}
	sort.Strings(ids)
	return ids, nil
}

// minion returns what the cache holds for id.
func (c *minionCache) minion(id string) (target.Minion, time.Time, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cm, ok := c.minions[id]
	if !ok {
		return target.Minion{ID: id}, time.Time{}, c.accepted[id]
	}
	return target.Minion{ID: id, Grains: cm.grains, Pillar: cm.pillar}, cm.lastSeen, true
}

// heartbeat writes last-seen and connected flags of every cached minion.
func (c *minionCache) heartbeat(ctx context.Context) {
	c.mu.Lock()
	ms := make([]jobstore.Minion, 0, len(c.minions))
	for id, cm := range c.minions {
		conn := c.connected(id)
		if conn {
			cm.lastSeen = time.Now()
		}
		ms = append(ms, jobstore.Minion{ID: id, LastSeen: cm.lastSeen, Connected: conn, Master: c.m.cfg.ID})
	}
	c.mu.Unlock()
	if len(ms) == 0 {
		return
	}
	if err := c.m.store.UpsertMinions(ctx, ms); err != nil {
		c.m.log.Debug("minion heartbeat not stored", slog.Any("err", err))
	}
}
