package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/brine-project/brine/pkg/events"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/proto"
	"github.com/brine-project/brine/pkg/session"
	"github.com/brine-project/brine/pkg/transport"
)

// handleRequest answers one message on the request port: an auth hello, or a
// request sealed with the sender's request key. Anything else closes the
// connection (the transport counts it); a request we cannot open is answered
// with a signed re-auth notice, so a minion whose session is gone (master
// restart, rotated key) authenticates again.
func (m *Master) handleRequest(ctx context.Context, p *transport.Peer, frames [][]byte) ([][]byte, error) {
	if len(frames) != 1 {
		return nil, fmt.Errorf("master: %w: %d frames", transport.ErrProtocol, len(frames))
	}
	select {
	case <-m.ready: // the hub listens a moment before the authority exists
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	data := frames[0]
	t, err := proto.PeekType(data)
	if err != nil {
		return nil, err
	}
	switch t {
	case proto.TypeAuthRequest:
		reply, id, err := m.auth.HandleAuth(data)
		if err != nil {
			m.log.Debug("auth refused", slog.String("peer", p.RemoteAddr()), slog.Any("err", err))
			return nil, err
		}
		if m.auth.Authenticated(id) {
			m.cache.seen(id)
			m.bus.Publish(events.TagPrefix+"auth/"+id, map[string]any{"id": id, "result": true})
		}
		return [][]byte{reply}, nil
	case proto.TypeRequestEnvelope:
		id, req, err := m.auth.OpenRequest(data)
		if errors.Is(err, session.ErrUnknownMinion) {
			return [][]byte{m.auth.Notice("unknown session")}, nil
		}
		if err != nil {
			m.log.Debug("request dropped", slog.String("peer", p.RemoteAddr()), slog.Any("err", err))
			return nil, err
		}
		status, body := m.dispatch(ctx, id, req)
		reply, err := m.auth.SealReply(id, proto.Reply{ID: req.ID, Status: status, Body: body})
		if err != nil {
			return [][]byte{m.auth.Notice("unknown session")}, nil
		}
		return [][]byte{reply}, nil
	}
	return nil, fmt.Errorf("master: %w: unexpected %s on the request port", transport.ErrProtocol, t)
}

// dispatch runs one opened request. Errors are answered, not returned: they
// are the minion's problem to report, not a protocol violation.
func (m *Master) dispatch(ctx context.Context, id string, req *proto.Request) (proto.ReplyStatus, []byte) {
	switch req.Kind {
	case job.KindReturn:
		return m.handleReturn(ctx, id, req.Body)
	case job.KindGrains:
		var g job.Grains
		if err := job.Decode(req.Kind, req.Body, &g); err != nil {
			return proto.ReplyError, []byte(err.Error())
		}
		m.cache.setGrains(ctx, id, g.Grains)
		m.bus.Publish(events.MinionStartTag(id), map[string]any{"id": id})
		return proto.ReplyOK, nil
	case proto.KindHeartbeat:
		m.cache.seen(id)
		return proto.ReplyOK, nil
	case job.KindPillar:
		return m.handlePillar(ctx, id, req.Body)
	case job.KindFile:
		return m.handleFile(ctx, id, req.Body)
	}
	return proto.ReplyNotFound, []byte("unknown request kind " + req.Kind)
}

// handleReturn stores a return and acknowledges it only once it is durable
// (in the store, or in the writer's spool during an outage): the minion
// keeps it on disk until then.
func (m *Master) handleReturn(ctx context.Context, id string, body []byte) (proto.ReplyStatus, []byte) {
	var r job.Return
	if err := job.Decode(job.KindReturn, body, &r); err != nil {
		return proto.ReplyError, []byte(err.Error())
	}
	if len(r.Return) == 0 || !json.Valid(r.Return) {
		r.Return = json.RawMessage("null")
	}
	ret := jobstore.Return{JID: r.JID, Minion: id, Success: r.Success, Retcode: r.Retcode, Return: r.Return,
		Duration: time.Duration(r.Duration * float64(time.Second)), Received: time.Now()}
	durable := make(chan error, 1)
	if err := m.writer.AddFunc(ret, func(err error) { durable <- err }); err != nil {
		return proto.ReplyError, []byte(err.Error())
	}
	m.cache.seen(id)
	m.jobs.returned(ret)
	m.bus.Publish(events.JobRetTag(r.JID, id), map[string]any{"jid": r.JID, "id": id, "fun": r.Fun,
		"retcode": r.Retcode, "success": r.Success, "return": r.Return})
	select {
	case err := <-durable:
		if err != nil {
			return proto.ReplyError, []byte(err.Error())
		}
	case <-ctx.Done():
		return proto.ReplyError, []byte("master stopping")
	}
	ack, _ := json.Marshal(job.Ack{JID: r.JID})
	return proto.ReplyOK, ack
}
