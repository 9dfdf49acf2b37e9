package api

import (
	"context"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/chat"
)

// toGroup is a group on the wire.
func toGroup(g chat.Group) *spartanv1.Group {
	return &spartanv1.Group{Name: g.Name, Members: g.Names(), Configured: g.Configured}
}

// CreateGroup makes a group.
func (h *Handler) CreateGroup(ctx context.Context, req *connect.Request[spartanv1.CreateGroupRequest]) (*connect.Response[spartanv1.CreateGroupResponse], error) {
	m := req.Msg
	g, err := h.core.CreateGroup(ctx, m.GetUser(), m.GetGroup(), m.GetMembers())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.CreateGroupResponse{Group: toGroup(g)}), nil
}

// AddMember adds a member to a group.
func (h *Handler) AddMember(ctx context.Context, req *connect.Request[spartanv1.AddMemberRequest]) (*connect.Response[spartanv1.AddMemberResponse], error) {
	m := req.Msg
	g, err := h.core.AddMember(ctx, m.GetUser(), m.GetGroup(), m.GetMember())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.AddMemberResponse{Group: toGroup(g)}), nil
}

// LeaveGroup takes the caller out of a group.
func (h *Handler) LeaveGroup(ctx context.Context, req *connect.Request[spartanv1.LeaveGroupRequest]) (*connect.Response[spartanv1.LeaveGroupResponse], error) {
	if err := h.core.LeaveGroup(ctx, req.Msg.GetUser(), req.Msg.GetGroup()); err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.LeaveGroupResponse{}), nil
}

// ListGroups lists the caller's groups.
func (h *Handler) ListGroups(ctx context.Context, req *connect.Request[spartanv1.ListGroupsRequest]) (*connect.Response[spartanv1.ListGroupsResponse], error) {
	groups, err := h.core.Groups(ctx, req.Msg.GetUser())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &spartanv1.ListGroupsResponse{Groups: make([]*spartanv1.Group, len(groups))}
	for i, g := range groups {
		out.Groups[i] = toGroup(g)
	}
	return connect.NewResponse(out), nil
}

// GetGroup returns one group.
func (h *Handler) GetGroup(ctx context.Context, req *connect.Request[spartanv1.GetGroupRequest]) (*connect.Response[spartanv1.GetGroupResponse], error) {
	g, err := h.core.GetGroup(ctx, req.Msg.GetUser(), req.Msg.GetGroup())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.GetGroupResponse{Group: toGroup(g)}), nil
}

// ShareGroupKey delivers a sealed sender key to one member.
func (h *Handler) ShareGroupKey(ctx context.Context, req *connect.Request[spartanv1.ShareGroupKeyRequest]) (*connect.Response[spartanv1.ShareGroupKeyResponse], error) {
	m := req.Msg
	keys := make([]chat.SealedKey, len(m.GetKeys()))
	for i, k := range m.GetKeys() {
		keys[i] = chat.SealedKey{Receiver: k.GetReceiver(), Payload: k.GetPayload(), Encryption: int32(k.GetEncryption()), ClientID: k.GetClientMsgId()}
	}
	if err := h.core.ShareGroupKey(ctx, m.GetUser(), m.GetGroup(), keys); err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.ShareGroupKeyResponse{}), nil
}
