package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Group is a group chat: its members, and where each joined its log.
type Group struct {
	// Name is the group's name, never a user's.
	Name string `json:"name"`
	// Members are the members in the order they joined.
	Members []Member `json:"members"`
	// Configured marks a group of the server's configuration: its members
	// change there, not through the API.
	Configured bool `json:"-"`
}

// Member is one member of a group.
type Member struct {
	// User is the member's name.
	User string `json:"user"`
	// Joined is the head of the group's log when the member joined: the
	// member reads the posts after it.
	Joined uint64 `json:"joined"`
}

// Names returns the members' names, in the order they joined.
func (g Group) Names() []string {
	names := make([]string, len(g.Members))
	for i, m := range g.Members {
		names[i] = m.User
	}
	return names
}

// member returns user's membership.
func (g Group) member(user string) (Member, bool) {
	for _, m := range g.Members {
		if m.User == user {
			return m, true
		}
	}
	return Member{}, false
}

// GroupLog is the log of a group's posts, in the one order every member
// sees.
func GroupLog(group string) string { return "grouplog/" + group }

// groupKey is the record of a group made through the API.
func groupKey(group string) string { return "group/" + group }

// userGroupsKey is the record of the API-made groups user is a member of.
func userGroupsKey(user string) string { return "groups/" + user }

// groupNameRE is what a group's name may be: the configuration's rule for
// names.
var groupNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// configuredGroups makes the groups of the configuration, their members
// in the configuration's order, all reading from the start.
func configuredGroups(groups map[string][]string) map[string]Group {
	out := make(map[string]Group, len(groups))
	for name, users := range groups {
		g := Group{Name: name, Configured: true}
		for _, u := range users {
			if _, dup := g.member(u); !dup {
				g.Members = append(g.Members, Member{User: u})
			}
		}
		out[name] = g
	}
	return out
}

// getGroup reads a group: one of the configuration's, or one made through
// the API; NotFound when there is none.
func (s *Service) getGroup(tx Tx, name string) (Group, error) {
	if name == "" {
		return Group{}, Errorf(CodeInvalid, "no group given")
	}
	if g, ok := s.groups[name]; ok {
		return g, nil
	}
	raw, err := tx.Get(groupKey(name))
	if errors.Is(err, ErrNoKey) {
		return Group{}, Errorf(CodeNotFound, "there is no group named %q", quoteInput(name))
	}
	if err != nil {
		return Group{}, fmt.Errorf("read group %s: %w", name, err)
	}
	var g Group
	if err := json.Unmarshal(raw, &g); err != nil {
		return Group{}, fmt.Errorf("decode group %s: %w", name, err)
	}
	return g, nil
}

// memberOf reads a group and checks that user is a member of it.
func (s *Service) memberOf(tx Tx, user, name string) (Group, Member, error) {
	g, err := s.getGroup(tx, name)
	if err != nil {
		return Group{}, Member{}, err
	}
	m, ok := g.member(user)
	if !ok {
		return Group{}, Member{}, Errorf(CodePermissionDenied, "%s is not a member of %s", user, name)
	}
	return g, m, nil
}

// putGroup writes a group made through the API (none left: deletes it).
func putGroup(tx Tx, g Group) error {
	if len(g.Members) == 0 {
		return tx.Delete(groupKey(g.Name))
	}
	raw, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("encode group %s: %w", g.Name, err)
	}
	return tx.Put(groupKey(g.Name), raw)
}

// userGroups reads the names of the API-made groups user is a member of.
func userGroups(tx Tx, user string) ([]string, error) {
	raw, err := tx.Get(userGroupsKey(user))
	if errors.Is(err, ErrNoKey) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the groups of %s: %w", user, err)
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, fmt.Errorf("decode the groups of %s: %w", user, err)
	}
	return names, nil
}

// setUserGroup adds group to user's list, or removes it.
func setUserGroup(tx Tx, user, group string, in bool) error {
	names, err := userGroups(tx, user)
	if err != nil {
		return err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == group })
	if in {
		names = append(names, group)
	}
	raw, err := json.Marshal(names)
	if err != nil {
		return fmt.Errorf("encode the groups of %s: %w", user, err)
	}
	return tx.Put(userGroupsKey(user), raw)
}

// fellows returns the users who share a group with user.
func (s *Service) fellows(tx Tx, user string) (map[string]bool, error) {
	out := map[string]bool{}
	add := func(g Group) {
		if _, in := g.member(user); in {
			for _, m := range g.Members {
				out[m.User] = true
			}
		}
	}
	for _, g := range s.groups {
		add(g)
	}
	names, err := userGroups(tx, user)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		g, err := s.getGroup(tx, n)
		if err != nil {
			return nil, err
		}
		add(g)
	}
	return out, nil
}

// CreateGroup makes the group name of user and members. The name must be
// free (AlreadyExists): no user's, no group's.
func (s *Service) CreateGroup(ctx context.Context, user, name string, members []string) (Group, error) {
	if err := s.checkUser("user", user); err != nil {
		return Group{}, err
	}
	switch {
	case !groupNameRE.MatchString(name):
		return Group{}, Errorf(CodeInvalid, "the group name %q is not allowed: use 1 to 64 letters, digits, '_', '.' or '-'", quoteInput(name))
	case s.isUser(name):
		return Group{}, Errorf(CodeAlreadyExists, "%q is a user's name; a group needs another", name)
	}
	g := Group{Name: name, Members: []Member{{User: user}}}
	for _, m := range members {
		if err := s.checkUser("member", m); err != nil {
			return Group{}, err
		}
		if _, dup := g.member(m); !dup {
			g.Members = append(g.Members, Member{User: m})
		}
	}
	err := s.update(ctx, func(w *writer) error {
		if _, err := s.getGroup(w.tx, name); err == nil {
			return Errorf(CodeAlreadyExists, "there is a group named %s already", name)
		} else if ErrorCode(err) != CodeNotFound {
			return err
		}
		head, err := w.tx.Head(GroupLog(name)) // a name used before: its old posts are not the new members'
		if err != nil {
			return err
		}
		for i := range g.Members {
			g.Members[i].Joined = head
			if err := setUserGroup(w.tx, g.Members[i].User, name, true); err != nil {
				return err
			}
		}
		if err := putGroup(w.tx, g); err != nil {
			return err
		}
		note := fmt.Sprintf("%s made the group %s: %s.", user, name, strings.Join(g.Names(), ", "))
		return w.groupChanged(g, user, note)
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group %s: %w", name, err)
	}
	return g, nil
}

// AddMember adds member to the group name; user must be a member.
func (s *Service) AddMember(ctx context.Context, user, name, member string) (Group, error) {
	if err := s.checkUser("user", user); err != nil {
		return Group{}, err
	}
	if err := s.checkUser("member", member); err != nil {
		return Group{}, err
	}
	var g Group
	err := s.update(ctx, func(w *writer) error {
		var err error
		if g, _, err = s.memberOf(w.tx, user, name); err != nil {
			return err
		}
		switch _, in := g.member(member); {
		case g.Configured:
			return Errorf(CodeFailedPrecondition, "%s is a group of the server's configuration: its members change there", name)
		case in:
			return Errorf(CodeAlreadyExists, "%s is a member of %s already", member, name)
		}
		head, err := w.tx.Head(GroupLog(name))
		if err != nil {
			return err
		}
		g.Members = append(g.Members, Member{User: member, Joined: head})
		if err := putGroup(w.tx, g); err != nil {
			return err
		}
		if err := setUserGroup(w.tx, member, name, true); err != nil {
			return err
		}
		return w.groupChanged(g, user, fmt.Sprintf("%s added %s to %s.", user, member, name))
	})
	if err != nil {
		return Group{}, fmt.Errorf("add %s to group %s: %w", member, name, err)
	}
	return g, nil
}

// LeaveGroup takes user out of the group name.
func (s *Service) LeaveGroup(ctx context.Context, user, name string) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	err := s.update(ctx, func(w *writer) error {
		g, _, err := s.memberOf(w.tx, user, name)
		if err != nil {
			return err
		}
		if g.Configured {
			return Errorf(CodeFailedPrecondition, "%s is a group of the server's configuration: its members change there", name)
		}
		g.Members = slices.DeleteFunc(g.Members, func(m Member) bool { return m.User == user })
		if err := putGroup(w.tx, g); err != nil {
			return err
		}
		if err := setUserGroup(w.tx, user, name, false); err != nil {
			return err
		}
		note := fmt.Sprintf("%s left %s.", user, name)
		if err := w.toInbox(w.s.groupEvent(KindGroupChanged, user, user, name, note)); err != nil {
			return err
		}
		return w.groupChanged(g, user, note)
	})
	if err != nil {
		return fmt.Errorf("%s leaves group %s: %w", user, name, err)
	}
	return nil
}

// groupChanged tells every member of g of a change user made.
func (w *writer) groupChanged(g Group, user, note string) error {
	for _, m := range g.Members {
		if err := w.toInbox(w.s.groupEvent(KindGroupChanged, user, m.User, g.Name, note)); err != nil {
			return err
		}
	}
	return nil
}

// groupEvent is an event of kind about group, for one receiver.
func (s *Service) groupEvent(kind Kind, from, to, group, note string) Event {
	ev := s.event(kind, from, to, note, nil, 0)
	ev.Group = group
	return ev
}

// Groups returns the groups user is a member of, by name.
func (s *Service) Groups(ctx context.Context, user string) ([]Group, error) {
	if err := s.checkUser("user", user); err != nil {
		return nil, err
	}
	var out []Group
	for _, g := range s.groups {
		if _, in := g.member(user); in {
			out = append(out, g)
		}
	}
	err := s.store.View(ctx, func(tx Tx) error {
		names, err := userGroups(tx, user)
		if err != nil {
			return err
		}
		for _, n := range names {
			g, err := s.getGroup(tx, n)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the groups of %s: %w", user, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetGroup returns the group name; user must be a member.
func (s *Service) GetGroup(ctx context.Context, user, name string) (Group, error) {
	if err := s.checkUser("user", user); err != nil {
		return Group{}, err
	}
	var g Group
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		g, _, err = s.memberOf(tx, user, name)
		return err
	})
	if err != nil {
		return Group{}, fmt.Errorf("group %s: %w", name, err)
	}
	return g, nil
}

// Post stores a text from user to the group name: in the group's log,
// which gives every post its place in the one order, and in the inbox of
// every other member. With a clientID, a repeat stores nothing (as Send).
func (s *Service) Post(ctx context.Context, user, name string, payload []byte, encryption int32, clientID string) (Event, error) {
	out, err := s.SendBatch(ctx, user, []Outgoing{{Group: name, Payload: payload, Encryption: encryption, ClientID: clientID}})
	if err != nil {
		return Event{}, err
	}
	return out[0].Event, nil
}

// post appends ev, a text of ev.Sender's, to the group ev.Group's log and
// a copy to every other member's inbox, unless its client id says it was
// posted already: then it returns the first answer.
func (w *writer) post(ev Event) (Sent, error) {
	user, name, clientID := ev.Sender, ev.Group, ev.ClientID
	g, _, err := w.s.memberOf(w.tx, user, name)
	if err != nil {
		return Sent{}, err
	}
	if prev, ok, err := repeated(w.tx, user, clientID, name); err != nil || ok {
		return Sent{Event: Event{ID: prev.ID, SentAt: prev.SentAt, Kind: KindText, Sender: user, Group: name, ClientID: clientID}}, err
	}
	if err := w.ensureEpoch(); err != nil {
		return Sent{}, err
	}
	log := GroupLog(name)
	logs := []string{log}
	for _, m := range g.Members {
		if m.User != user {
			logs = append(logs, InboxLog(m.User))
		}
	}
	if err := prefetchHeads(w.tx, logs); err != nil {
		return Sent{}, fmt.Errorf("heads of %s's members: %w", name, err)
	}
	seq, err := w.tx.Append(log, ev)
	if err != nil {
		return Sent{}, fmt.Errorf("append to %s: %w", log, err)
	}
	if err := w.retain(log, seq, ""); err != nil {
		return Sent{}, err
	}
	for _, m := range g.Members {
		if m.User == user {
			continue
		}
		c := ev
		c.Receiver = m.User
		if err := w.toInbox(c); err != nil {
			return Sent{}, err
		}
	}
	w.touch(g.Names()...)
	if clientID != "" {
		if err := w.rememberSent(user, clientID, sent{ID: ev.ID, SentAt: ev.SentAt, Receiver: name}); err != nil {
			return Sent{}, err
		}
	}
	return Sent{Event: ev}, nil
}

// SealedKey is a sender key sealed for one member of a group.
type SealedKey struct {
	Receiver   string
	Payload    []byte
	Encryption int32
	ClientID   string
}

// ShareGroupKey delivers user's sender key for the group name to members,
// each sealed for its receiver; user and every receiver must be members.
// All or none are delivered.
func (s *Service) ShareGroupKey(ctx context.Context, user, name string, keys []SealedKey) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	if len(keys) == 0 {
		return Errorf(CodeInvalid, "no key to share")
	}
	for _, k := range keys {
		if err := s.checkRoles(user, "receiver", k.Receiver); err != nil {
			return err
		}
		if err := s.checkPayload(user, k.Receiver, k.Payload); err != nil {
			return err
		}
		if err := checkClientID(k.ClientID); err != nil {
			return err
		}
	}
	err := s.update(ctx, func(w *writer) error {
		g, _, err := s.memberOf(w.tx, user, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, in := g.member(k.Receiver); !in {
				return Errorf(CodePermissionDenied, "%s is not a member of %s", k.Receiver, name)
			}
			ev := s.groupEvent(KindGroupKey, user, k.Receiver, name, "")
			ev.Payload, ev.Encryption, ev.ClientID = k.Payload, k.Encryption, k.ClientID
			if err := w.toInbox(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("share %s's key for %s: %w", user, name, err)
	}
	return nil
}

// groupHistory is History for a group: the posts since user joined.
func (s *Service) groupHistory(ctx context.Context, user, name string, before uint64, limit int) ([]Event, uint64, error) {
	var page []Event
	var joined uint64
	err := s.store.View(ctx, func(tx Tx) error {
		_, m, err := s.memberOf(tx, user, name)
		if err != nil {
			return err
		}
		joined = m.Joined
		page, err = tx.ReadBefore(GroupLog(name), before, limit, MaxPageBytes)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("history of group %s before %d: %w", name, before, err)
	}
	page = slices.DeleteFunc(page, func(ev Event) bool { return ev.Seq <= joined })
	var next uint64
	if len(page) > 0 && page[0].Seq > joined+1 {
		next = page[0].Seq
	}
	return page, next, nil
}
