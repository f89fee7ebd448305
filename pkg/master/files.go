package master

import (
	"context"

	"github.com/brine-project/brine/pkg/proto"
)

func (m *Master) handlePillar(ctx context.Context, id string, body []byte) (proto.ReplyStatus, []byte) {
	return proto.ReplyNotFound, []byte("pillar is not served by this master yet")
}

func (m *Master) handleFile(ctx context.Context, id string, body []byte) (proto.ReplyStatus, []byte) {
	return proto.ReplyNotFound, []byte("the file server is not served by this master yet")
}
