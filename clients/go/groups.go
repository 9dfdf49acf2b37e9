package spartan

import (
	"context"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// call makes one unary call on the server in use, moving to the next of
// the cluster when it cannot be reached.
func call[Req, Res any](c *Client, fn func(spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), ctx context.Context, req *Req) (*Res, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*Res, error) {
		res, err := fn(rpc)(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
}

// CreateGroup makes the group name of the user and members.
func (c *Client) CreateGroup(ctx context.Context, name string, members []string) (*spartanv1.Group, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.CreateGroupRequest]) (*connect.Response[spartanv1.CreateGroupResponse], error) {
		return r.CreateGroup
	}, ctx, &spartanv1.CreateGroupRequest{User: c.user, Group: name, Members: members})
	return res.GetGroup(), err
}

// AddMember adds member to the group name.
func (c *Client) AddMember(ctx context.Context, name, member string) (*spartanv1.Group, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.AddMemberRequest]) (*connect.Response[spartanv1.AddMemberResponse], error) {
		return r.AddMember
	}, ctx, &spartanv1.AddMemberRequest{User: c.user, Group: name, Member: member})
	return res.GetGroup(), err
}

// LeaveGroup takes the user out of the group name.
func (c *Client) LeaveGroup(ctx context.Context, name string) error {
	_, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.LeaveGroupRequest]) (*connect.Response[spartanv1.LeaveGroupResponse], error) {
		return r.LeaveGroup
	}, ctx, &spartanv1.LeaveGroupRequest{User: c.user, Group: name})
	return err
}

// ListGroups returns the user's groups.
func (c *Client) ListGroups(ctx context.Context) ([]*spartanv1.Group, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.ListGroupsRequest]) (*connect.Response[spartanv1.ListGroupsResponse], error) {
		return r.ListGroups
	}, ctx, &spartanv1.ListGroupsRequest{User: c.user})
	return res.GetGroups(), err
}

// GetGroup returns the group name, of which the user is a member.
func (c *Client) GetGroup(ctx context.Context, name string) (*spartanv1.Group, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.GetGroupRequest]) (*connect.Response[spartanv1.GetGroupResponse], error) {
		return r.GetGroup
	}, ctx, &spartanv1.GetGroupRequest{User: c.user, Group: name})
	return res.GetGroup(), err
}

// ShareGroupKey sends members a sender key for group, sealed for each.
func (c *Client) ShareGroupKey(ctx context.Context, group string, keys []*spartanv1.SealedKey) error {
	_, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.ShareGroupKeyRequest]) (*connect.Response[spartanv1.ShareGroupKeyResponse], error) {
		return r.ShareGroupKey
	}, ctx, &spartanv1.ShareGroupKeyRequest{User: c.user, Group: group, Keys: keys})
	return err
}

// GetKeys fetches the public identity keys of peers; those without one
// are left out.
func (c *Client) GetKeys(ctx context.Context, peers []string) (map[string][]byte, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.GetKeysRequest]) (*connect.Response[spartanv1.GetKeysResponse], error) {
		return r.GetKeys
	}, ctx, &spartanv1.GetKeysRequest{User: c.user, Peers: peers})
	return res.GetKeys(), err
}

// GroupHistory is History for a group: up to n of its newest posts before
// sequence number before (0: the newest) since the user joined.
func (c *Client) GroupHistory(ctx context.Context, group string, before uint64, n int) ([]*spartanv1.Message, uint64, error) {
	res, err := call(c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.HistoryRequest]) (*connect.Response[spartanv1.HistoryResponse], error) {
		return r.History
	}, ctx, &spartanv1.HistoryRequest{User: c.user, Group: group, BeforeSeq: before, PageSize: uint32(max(n, 0))})
	if err != nil {
		return nil, 0, err
	}
	return res.GetMessages(), res.GetNextBeforeSeq(), nil
}
