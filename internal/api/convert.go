package api

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/chat"
)

var messageTypes = map[chat.Kind]spartanv1.MessageType{
	chat.KindText:         spartanv1.MessageType_MESSAGE_TYPE_TEXT,
	chat.KindChatRequest:  spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST,
	chat.KindChatAccepted: spartanv1.MessageType_MESSAGE_TYPE_CHAT_ACCEPTED,
	chat.KindChatDeclined: spartanv1.MessageType_MESSAGE_TYPE_CHAT_DECLINED,
	chat.KindSystem:       spartanv1.MessageType_MESSAGE_TYPE_SYSTEM,
	chat.KindPresence:     spartanv1.MessageType_MESSAGE_TYPE_PRESENCE,
	chat.KindKeyPublished: spartanv1.MessageType_MESSAGE_TYPE_KEY_PUBLISHED,
	chat.KindGroupChanged: spartanv1.MessageType_MESSAGE_TYPE_GROUP_CHANGED,
	chat.KindGroupKey:     spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY,
}

func toMessage(ev *chat.Event) *spartanv1.Message {
	return &spartanv1.Message{
		Id:          ev.ID,
		Seq:         ev.Seq,
		Type:        messageTypes[ev.Kind],
		Sender:      ev.Sender,
		Receiver:    ev.Receiver,
		Group:       ev.Group,
		SentTime:    timestamppb.New(ev.SentAt),
		Payload:     ev.Payload,
		Encryption:  spartanv1.Encryption(ev.Encryption),
		Note:        ev.Note,
		Online:      ev.Online,
		Epoch:       ev.Epoch,
		ClientMsgId: ev.ClientID,
	}
}

func conversationState(s chat.State) spartanv1.ConversationState {
	switch s {
	case chat.StateRequested:
		return spartanv1.ConversationState_CONVERSATION_STATE_REQUESTED
	case chat.StateAccepted:
		return spartanv1.ConversationState_CONVERSATION_STATE_ACCEPTED
	case chat.StateDeclined:
		return spartanv1.ConversationState_CONVERSATION_STATE_DECLINED
	default:
		return spartanv1.ConversationState_CONVERSATION_STATE_UNSPECIFIED
	}
}
