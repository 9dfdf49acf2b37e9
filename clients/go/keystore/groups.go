package keystore

import (
	"bytes"
	"maps"
	"slices"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
)

// groupsFile is groups.json: the sender keys of group chats.
const groupsFile = "groups.json"

// maxSenderKeys is how many of one sender's keys for one group are kept:
// enough for posts sealed before a few changes of members to still open.
const maxSenderKeys = 16

// groups is groups.json.
type groups struct {
	Version int                   `json:"version"`
	Groups  map[string]GroupState `json:"groups"`
}

// GroupState is what the user keeps of one group.
type GroupState struct {
	// Mine is the user's current sender key for the group, if any.
	Mine *MySenderKey `json:"mine,omitempty"`
	// Senders are the other members' keys, newest first.
	Senders map[string][]e2e.SenderKey `json:"senders,omitempty"`
}

// MySenderKey is the user's sender key for a group, with the members it was
// made for (a change of members calls for a new one) and those who have it.
type MySenderKey struct {
	e2e.SenderKey
	Members []string `json:"members"`
	Shared  []string `json:"shared"`
}

// loadGroups reads groups.json, once.
func (s *Store) loadGroups() error {
	if s.groups != nil {
		return nil
	}
	return s.reloadGroups()
}

// reloadGroups reads groups.json again, as reloadContacts.
func (s *Store) reloadGroups() error {
	var g groups
	if _, err := s.read(groupsFile, &g); err != nil {
		return err
	}
	s.groups = g.Groups
	if s.groups == nil {
		s.groups = map[string]GroupState{}
	}
	return nil
}

// setGroup writes group's state.
func (s *Store) setGroup(name string, st GroupState) error {
	next := maps.Clone(s.groups)
	next[name] = st
	if err := s.write(groupsFile, groups{Version: formatV1, Groups: next}); err != nil {
		return err
	}
	s.groups = next
	return nil
}

// MySenderKey returns the user's sender key for group.
func (s *Store) MySenderKey(group string) (MySenderKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadGroups(); err != nil {
		return MySenderKey{}, false, err
	}
	st := s.groups[group]
	if st.Mine == nil {
		return MySenderKey{}, false, nil
	}
	return *st.Mine, true, nil
}

// SetMySenderKey records the user's sender key for group.
func (s *Store) SetMySenderKey(group string, k MySenderKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadGroups(); err != nil {
		return err
	}
	st := s.groups[group]
	st.Mine = &k
	return s.setGroup(group, st)
}

// AddSenderKey records sender's key k for group, as its newest.
func (s *Store) AddSenderKey(group, sender string, k e2e.SenderKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadGroups(); err != nil {
		return err
	}
	st := s.groups[group]
	st.Senders = maps.Clone(st.Senders)
	if st.Senders == nil {
		st.Senders = map[string][]e2e.SenderKey{}
	}
	keys := slices.DeleteFunc(slices.Clone(st.Senders[sender]), func(o e2e.SenderKey) bool { return bytes.Equal(o.ID, k.ID) })
	keys = append([]e2e.SenderKey{k}, keys...)
	st.Senders[sender] = keys[:min(len(keys), maxSenderKeys)]
	return s.setGroup(group, st)
}

// SenderKey returns sender's key of id for group.
func (s *Store) SenderKey(group, sender string, id []byte) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadGroups(); err != nil {
		return nil, false, err
	}
	for _, k := range s.groups[group].Senders[sender] {
		if bytes.Equal(k.ID, id) {
			return k.Key, true, nil
		}
	}
	return nil, false, nil
}

// Unshare forgets that member has the user's sender keys: member's identity
// key changed, so the keys go to member again, sealed for the new one.
func (s *Store) Unshare(member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadGroups(); err != nil {
		return err
	}
	for name, st := range s.groups {
		if st.Mine == nil || !slices.Contains(st.Mine.Shared, member) {
			continue
		}
		mine := *st.Mine
		mine.Shared = slices.DeleteFunc(slices.Clone(mine.Shared), func(m string) bool { return m == member })
		st.Mine = &mine
		if err := s.setGroup(name, st); err != nil {
			return err
		}
	}
	return nil
}

// Owing returns the groups whose current sender key of the user's was made
// for a membership that includes member but has not reached them (they had
// no identity key then, or it changed since), in name order.
func (s *Store) Owing(member string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadGroups(); err != nil {
		return nil, err
	}
	var names []string
	for name, st := range s.groups {
		if st.Mine != nil && slices.Contains(st.Mine.Members, member) && !slices.Contains(st.Mine.Shared, member) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// MarkShared records that members have the user's sender key of id for
// group, if it is still the current one (a new key may have replaced it
// meanwhile: that one goes to everyone anyway).
func (s *Store) MarkShared(group string, id []byte, members ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadGroups(); err != nil {
		return err
	}
	st := s.groups[group]
	if st.Mine == nil || !bytes.Equal(st.Mine.ID, id) {
		return nil
	}
	mine := *st.Mine
	mine.Shared = slices.Clone(mine.Shared)
	for _, m := range members {
		if !slices.Contains(mine.Shared, m) {
			mine.Shared = append(mine.Shared, m)
		}
	}
	st.Mine = &mine
	return s.setGroup(group, st)
}
