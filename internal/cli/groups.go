package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// chatWith is /chat NAME, or a name typed at "Enter a user": a group of
// the user's, or a user to chat with.
func (a *app) chatWith(ctx context.Context, name string) {
	if a.groups[name] {
		a.openGroup(ctx, name)
		return
	}
	if a.checkPeer(name) {
		a.open(ctx, name)
	}
}

// openGroup makes the group name the one chatted in.
func (a *app) openGroup(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	g, err := a.c.GetGroup(ctx, name)
	if err != nil {
		a.groupFailed(name, err)
		return
	}
	a.mode, a.partner, a.inGroup = chatting, name, true
	a.say(fmt.Sprintf("You are now in %s: %s.", name, strings.Join(g.GetMembers(), ", ")))
	for _, other := range a.asking {
		a.say(reminder(other))
	}
	a.term.SetPrompt(fmt.Sprintf("[%s@%s] > ", a.c.User(), name))
}

// groupFailed tells why a call about the group name failed; a group the
// user is no longer in leaves the list.
func (a *app) groupFailed(name string, err error) {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodePermissionDenied:
		delete(a.groups, name)
	}
	a.say(fmt.Sprintf("Could not open %s: %s.", name, errMessage(err)))
}

// listGroups is /groups.
func (a *app) listGroups(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	groups, err := a.c.ListGroups(ctx)
	if err != nil {
		a.say("No groups: " + errMessage(err) + ".")
		return
	}
	a.setGroups(groups)
	if len(groups) == 0 {
		a.say("You are in no group. /group create NAME USER... makes one.")
		return
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%s (%s)", g.GetName(), strings.Join(g.GetMembers(), ", "))
	}
	a.say("Your groups: " + strings.Join(parts, ", ") + ".")
}

// setGroups makes groups the ones the user is in.
func (a *app) setGroups(groups []*spartanv1.Group) {
	a.groups = map[string]bool{}
	for _, g := range groups {
		a.groups[g.GetName()] = true
	}
}

// groupCommand is /group create NAME USER... and /group add NAME USER.
func (a *app) groupCommand(ctx context.Context, arg string) {
	words := strings.Fields(arg)
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	switch {
	case len(words) >= 2 && words[0] == "create":
		name, members := words[1], words[2:]
		g, err := a.c.CreateGroup(ctx, name, members)
		if err != nil {
			a.say(fmt.Sprintf("Could not make the group %s: %s.", name, errMessage(err)))
			return
		}
		a.groups[g.GetName()] = true
		a.say(fmt.Sprintf("%s made the group %s: %s.", a.c.User(), name, strings.Join(g.GetMembers(), ", ")))
	case len(words) == 3 && words[0] == "add":
		if _, err := a.c.AddMember(ctx, words[1], words[2]); err != nil {
			a.say(fmt.Sprintf("Could not add %s to %s: %s.", words[2], words[1], errMessage(err)))
			return
		}
		a.say(fmt.Sprintf("%s added %s to %s.", a.c.User(), words[2], words[1]))
	default:
		a.say("Use /group create NAME USER... or /group add NAME USER.")
	}
}

// groupArg is the group a command names, or the one chatted in; false
// (and a hint) if neither.
func (a *app) groupArg(name, command string) (string, bool) {
	if name == "" && a.inGroup {
		name = a.partner
	}
	if name == "" {
		a.say(fmt.Sprintf("Name a group: %s NAME.", command))
	}
	return name, name != ""
}

// members is /members NAME.
func (a *app) members(ctx context.Context, name string) {
	name, ok := a.groupArg(name, "/members")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	g, err := a.c.GetGroup(ctx, name)
	if err != nil {
		a.say(fmt.Sprintf("No members: %s.", errMessage(err)))
		return
	}
	a.say(fmt.Sprintf("Members of %s: %s.", name, strings.Join(g.GetMembers(), ", ")))
}

// leave is /leave NAME.
func (a *app) leave(ctx context.Context, name string) {
	name, ok := a.groupArg(name, "/leave")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := a.c.LeaveGroup(ctx, name); err != nil {
		a.say(fmt.Sprintf("Could not leave %s: %s.", name, errMessage(err)))
		return
	}
	a.say(fmt.Sprintf("%s left %s.", a.c.User(), name))
	a.leftGroup(name)
}

// leftGroup forgets the group name, which the user is no longer in.
func (a *app) leftGroup(name string) {
	delete(a.groups, name)
	if a.inGroup && a.partner == name {
		a.choose()
	}
}

// post sends q to its group, and tells once of each member who cannot read
// it yet.
func (a *app) post(ctx context.Context, q queued) error {
	unreadable, err := a.crypto.PostText(ctx, q.to, q.text, q.id)
	for _, m := range unreadable {
		if key := q.to + "/" + m; !a.unreadable[key] {
			a.unreadable[key] = true
			a.say(fmt.Sprintf("%s has not set up encryption yet and cannot read your posts to %s until they connect.", m, q.to))
		}
	}
	return err
}

// groupChanged shows a change of a group's members and follows it. A
// change the user made was told when it was made.
func (a *app) groupChanged(ctx context.Context, m *spartanv1.Message) {
	if m.GetSender() != a.c.User() {
		a.say(m.GetNote())
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	g, err := a.c.GetGroup(ctx, m.GetGroup())
	if err == nil && slices.Contains(g.GetMembers(), a.c.User()) {
		a.groups[m.GetGroup()] = true
		return
	}
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodePermissionDenied:
		a.leftGroup(m.GetGroup())
	}
}

// groupKey takes in a member's sender key.
func (a *app) groupKey(ctx context.Context, m *spartanv1.Message) {
	kctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := a.crypto.AcceptGroupKey(kctx, m); err != nil {
		a.say(fmt.Sprintf("WARNING: %s's key for %s could not be read (%s); their posts there will not show.", m.GetSender(), m.GetGroup(), errMessage(err)))
		return
	}
	// The posts that waited for this key show now, in order; any sealed
	// with another key still missing wait on, quietly.
	gs := groupSender{group: m.GetGroup(), sender: m.GetSender()}
	waiting := a.keyless[gs]
	delete(a.keyless, gs)
	for _, p := range waiting {
		opened, err := a.decrypt(ctx, p)
		if errors.Is(err, spartan.ErrNoGroupKey) {
			a.keyless[gs] = append(a.keyless[gs], p)
			continue
		}
		a.term.Println(line(p, opened, err))
	}
}

// groupSender names a sender in a group.
type groupSender struct{ group, sender string }

// maxKeyless bounds the posts kept per group and sender while their key
// has not come.
const maxKeyless = 100

// showText shows a text message; a group post sealed with a sender key
// that has not come yet waits for it instead (told once while any wait):
// the sender's client sends the key when it sees the user's identity key.
func (a *app) showText(ctx context.Context, m *spartanv1.Message) {
	opened, err := a.decrypt(ctx, m)
	if !errors.Is(err, spartan.ErrNoGroupKey) {
		a.term.Println(line(m, opened, err))
		return
	}
	gs := groupSender{group: m.GetGroup(), sender: m.GetSender()}
	if len(a.keyless[gs]) == 0 {
		a.say(fmt.Sprintf("A post from %s@%s waits for %s's key; it will show when the key arrives.", gs.sender, gs.group, gs.sender))
	}
	a.keyless[gs] = append(a.keyless[gs], m)
	if n := len(a.keyless[gs]); n > maxKeyless {
		a.keyless[gs] = a.keyless[gs][n-maxKeyless:]
	}
}
