package plugnmeet

// The create-room request, after plugNmeet's CreateRoomReq protocol message.
//
// Field types follow the proto: a boolean the proto declares `optional` is a
// *bool so that an explicit false is sent (the server keeps it), while a
// plain proto boolean is a bool with omitempty, because the server cannot
// tell a plain false from an absent field (and merges it onto its default).
// The server-internal metadata fields (is_recording, is_active_rtmp,
// parent_room_id, is_breakout_room, started_at, metadata_id) are left out on
// purpose: a client must not send them.

// CreateRoomRequest is the body of POST /auth/room/create.
type CreateRoomRequest struct {
	RoomID          string        `json:"room_id,omitempty"`
	MaxParticipants *uint32       `json:"max_participants,omitempty"`
	EmptyTimeout    *uint32       `json:"empty_timeout,omitempty"`
	Metadata        *RoomMetadata `json:"metadata,omitempty"`
}

// RoomMetadata is the room's title, messages, links and features.
type RoomMetadata struct {
	RoomTitle           string              `json:"room_title,omitempty"`
	WelcomeMessage      *string             `json:"welcome_message,omitempty"`
	WebhookURL          *string             `json:"webhook_url,omitempty"`
	LogoutURL           *string             `json:"logout_url,omitempty"`
	RoomFeatures        *RoomCreateFeatures `json:"room_features,omitempty"`
	DefaultLockSettings *LockSettings       `json:"default_lock_settings,omitempty"`
	CopyrightConf       *CopyrightConf      `json:"copyright_conf,omitempty"`
	ExtraData           map[string]string   `json:"extra_data,omitempty"`
}

// RoomCreateFeatures switches the room's features on and off.
type RoomCreateFeatures struct {
	AllowWebcams                 bool                          `json:"allow_webcams,omitempty"`
	MuteOnStart                  bool                          `json:"mute_on_start,omitempty"`
	AllowScreenShare             bool                          `json:"allow_screen_share,omitempty"`
	AllowRTMP                    *bool                         `json:"allow_rtmp,omitempty"`
	AllowViewOtherWebcams        bool                          `json:"allow_view_other_webcams,omitempty"`
	AllowViewOtherUsersList      bool                          `json:"allow_view_other_users_list,omitempty"`
	AdminOnlyWebcams             bool                          `json:"admin_only_webcams,omitempty"`
	RoomDuration                 *uint64                       `json:"room_duration,omitempty"`
	EnableAnalytics              bool                          `json:"enable_analytics,omitempty"`
	AllowVirtualBg               *bool                         `json:"allow_virtual_bg,omitempty"`
	AllowRaiseHand               *bool                         `json:"allow_raise_hand,omitempty"`
	AllowReactions               *bool                         `json:"allow_reactions,omitempty"`
	AutoGenUserID                *bool                         `json:"auto_gen_user_id,omitempty"`
	RecordingFeatures            *RecordingFeatures            `json:"recording_features,omitempty"`
	ChatFeatures                 *ChatFeatures                 `json:"chat_features,omitempty"`
	SharedNotePadFeatures        *SharedNotePadFeatures        `json:"shared_note_pad_features,omitempty"`
	WhiteboardFeatures           *WhiteboardFeatures           `json:"whiteboard_features,omitempty"`
	ExternalMediaPlayerFeatures  *ExternalMediaPlayerFeatures  `json:"external_media_player_features,omitempty"`
	WaitingRoomFeatures          *WaitingRoomFeatures          `json:"waiting_room_features,omitempty"`
	BreakoutRoomFeatures         *BreakoutRoomFeatures         `json:"breakout_room_features,omitempty"`
	DisplayExternalLinkFeatures  *DisplayExternalLinkFeatures  `json:"display_external_link_features,omitempty"`
	IngressFeatures              *IngressFeatures              `json:"ingress_features,omitempty"`
	PollsFeatures                *PollsFeatures                `json:"polls_features,omitempty"`
	InsightsFeatures             *InsightsFeatures             `json:"insights_features,omitempty"`
	SIPDialInFeatures            *SIPDialInFeatures            `json:"sip_dial_in_features,omitempty"`
	EndToEndEncryptionFeatures   *EndToEndEncryptionFeatures   `json:"end_to_end_encryption_features,omitempty"`
	ExternalBroadcastingFeatures *ExternalBroadcastingFeatures `json:"external_broadcasting_features,omitempty"`
}

// RecordingFeatures are the recording settings.
type RecordingFeatures struct {
	IsAllow                  bool `json:"is_allow,omitempty"`
	IsAllowCloud             bool `json:"is_allow_cloud,omitempty"`
	IsAllowLocal             bool `json:"is_allow_local,omitempty"`
	EnableAutoCloudRecording bool `json:"enable_auto_cloud_recording,omitempty"`
	OnlyRecordAdminWebcams   bool `json:"only_record_admin_webcams,omitempty"`
}

// ChatFeatures are the chat settings.
type ChatFeatures struct {
	IsAllow           bool     `json:"is_allow,omitempty"`
	IsAllowFileUpload bool     `json:"is_allow_file_upload,omitempty"`
	AllowedFileTypes  []string `json:"allowed_file_types,omitempty"`
	MaxFileSize       *uint64  `json:"max_file_size,omitempty"` // MB
}

// SharedNotePadFeatures are the shared notepad settings.
type SharedNotePadFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// WhiteboardFeatures are the whiteboard settings.
type WhiteboardFeatures struct {
	IsAllow     bool    `json:"is_allow,omitempty"`
	PreloadFile *string `json:"preload_file,omitempty"`
}

// ExternalMediaPlayerFeatures are the external media player settings.
type ExternalMediaPlayerFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// WaitingRoomFeatures are the waiting room settings.
type WaitingRoomFeatures struct {
	IsActive       bool   `json:"is_active,omitempty"`
	WaitingRoomMsg string `json:"waiting_room_msg,omitempty"`
}

// BreakoutRoomFeatures are the breakout room settings.
type BreakoutRoomFeatures struct {
	IsAllow            bool   `json:"is_allow,omitempty"`
	AllowedNumberRooms uint32 `json:"allowed_number_rooms,omitempty"`
}

// DisplayExternalLinkFeatures are the settings for showing external links.
type DisplayExternalLinkFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// Ingress input types.
const (
	IngressRTMP = "RTMP_INPUT"
	IngressWHIP = "WHIP_INPUT"
)

// IngressFeatures are the media ingress settings.
type IngressFeatures struct {
	IsAllow   bool   `json:"is_allow,omitempty"`
	InputType string `json:"input_type,omitempty"` // IngressRTMP or IngressWHIP
}

// PollsFeatures are the polls settings.
type PollsFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// InsightsFeatures are the AI insights settings.
type InsightsFeatures struct {
	IsAllow                 bool                     `json:"is_allow,omitempty"`
	TranscriptionFeatures   *TranscriptionFeatures   `json:"transcription_features,omitempty"`
	ChatTranslationFeatures *ChatTranslationFeatures `json:"chat_translation_features,omitempty"`
	AIFeatures              *AIFeatures              `json:"ai_features,omitempty"`
}

// TranscriptionFeatures are the transcription settings.
type TranscriptionFeatures struct {
	IsAllow                bool `json:"is_allow,omitempty"`
	IsAllowTranslation     bool `json:"is_allow_translation,omitempty"`
	IsAllowSpeechSynthesis bool `json:"is_allow_speech_synthesis,omitempty"`
}

// ChatTranslationFeatures are the chat translation settings.
type ChatTranslationFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// AIFeatures are the generative AI settings.
type AIFeatures struct {
	IsAllow                      bool                          `json:"is_allow,omitempty"`
	AITextChatFeatures           *AITextChatFeatures           `json:"ai_text_chat_features,omitempty"`
	MeetingSummarizationFeatures *MeetingSummarizationFeatures `json:"meeting_summarization_features,omitempty"`
}

// AITextChatFeatures are the AI chat assistant settings.
type AITextChatFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// MeetingSummarizationFeatures are the meeting summary settings.
type MeetingSummarizationFeatures struct {
	IsAllow bool `json:"is_allow,omitempty"`
}

// SIPDialInFeatures are the SIP dial-in settings.
type SIPDialInFeatures struct {
	IsAllow              bool `json:"is_allow,omitempty"`
	EnableDialInOnCreate bool `json:"enable_dial_in_on_create,omitempty"`
	HidePhoneNumber      bool `json:"hide_phone_number,omitempty"`
}

// EndToEndEncryptionFeatures are the end-to-end encryption settings.
type EndToEndEncryptionFeatures struct {
	IsEnabled                      bool `json:"is_enabled,omitempty"`
	EnabledSelfInsertEncryptionKey bool `json:"enabled_self_insert_encryption_key,omitempty"`
	IncludedChatMessages           bool `json:"included_chat_messages,omitempty"`
	IncludedWhiteboard             bool `json:"included_whiteboard,omitempty"`
}

// ExternalBroadcastingFeatures are the outgoing broadcast settings.
type ExternalBroadcastingFeatures struct {
	IsAllow     bool `json:"is_allow,omitempty"`
	IsAllowRTMP bool `json:"is_allow_rtmp,omitempty"`
}

// LockSettings are the default locks for participants; every field is an
// optional proto boolean, so an explicit false is kept.
type LockSettings struct {
	LockMicrophone      *bool `json:"lock_microphone,omitempty"`
	LockWebcam          *bool `json:"lock_webcam,omitempty"`
	LockScreenSharing   *bool `json:"lock_screen_sharing,omitempty"`
	LockWhiteboard      *bool `json:"lock_whiteboard,omitempty"`
	LockSharedNotepad   *bool `json:"lock_shared_notepad,omitempty"`
	LockChat            *bool `json:"lock_chat,omitempty"`
	LockChatSendMessage *bool `json:"lock_chat_send_message,omitempty"`
	LockChatFileShare   *bool `json:"lock_chat_file_share,omitempty"`
	LockPrivateChat     *bool `json:"lock_private_chat,omitempty"`
	LockReactions       *bool `json:"lock_reactions,omitempty"`
}

// CopyrightConf is the copyright line shown in the room.
type CopyrightConf struct {
	Display bool   `json:"display,omitempty"`
	Text    string `json:"text,omitempty"`
}
