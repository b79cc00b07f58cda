//! Roles and rights: what each participant may publish and say, from its role, the class settings
//! and what a teacher decided for it individually.

use crate::protocol::{Rights, RightsPatch, Role, Settings, SettingsPatch};

/// A teacher's individual decisions for one participant. `None` follows the class settings, so
/// changing a setting reaches everyone who has no decision of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub mic: Option<bool>,
    pub camera: Option<bool>,
    pub screen: Option<bool>,
    pub chat: Option<bool>,
}

impl Overrides {
    /// Applies a teacher's patch: each field given becomes this participant's own decision.
    pub fn apply(&mut self, patch: &RightsPatch) {
        let set = |field: &mut Option<bool>, value: Option<bool>| {
            if value.is_some() {
                *field = value;
            }
        };
        set(&mut self.mic, patch.mic);
        set(&mut self.camera, patch.camera);
        set(&mut self.screen, patch.screen);
        set(&mut self.chat, patch.chat);
    }
}

/// The rights a participant has now. Teachers have every right whatever the settings; observers
/// none (they only receive); pupils follow the settings unless a teacher decided otherwise.
pub fn effective(role: Role, settings: &Settings, own: &Overrides) -> Rights {
    match role {
        Role::Teacher => Rights {
            mic: true,
            camera: true,
            screen: true,
            chat: true,
        },
        Role::Observer => Rights::default(),
        Role::Pupil => Rights {
            mic: own.mic.unwrap_or(settings.pupil_mic),
            camera: own.camera.unwrap_or(settings.pupil_camera),
            screen: own.screen.unwrap_or(settings.pupil_screen),
            chat: own.chat.unwrap_or(settings.chat),
        },
    }
}

/// What the shard is told: the publishing half of the rights.
pub fn publish_rights(rights: Rights) -> sfu::PublishRights {
    sfu::PublishRights {
        mic: rights.mic,
        camera: rights.camera,
        screen: rights.screen,
    }
}

/// Applies a settings patch. Returns which rights' settings changed, so that individual decisions
/// on those rights are dropped: a teacher who turns every pupil's mic off means everyone's.
pub fn apply_settings(settings: &mut Settings, patch: &SettingsPatch) -> RightsPatch {
    let mut changed = RightsPatch::default();
    let set = |field: &mut bool, value: Option<bool>, flag: &mut Option<bool>| {
        if let Some(v) = value {
            if *field != v {
                *field = v;
                *flag = Some(v);
            }
        }
    };
    set(&mut settings.pupil_mic, patch.pupil_mic, &mut changed.mic);
    set(
        &mut settings.pupil_camera,
        patch.pupil_camera,
        &mut changed.camera,
    );
    set(
        &mut settings.pupil_screen,
        patch.pupil_screen,
        &mut changed.screen,
    );
    set(&mut settings.chat, patch.chat, &mut changed.chat);
    if let Some(locked) = patch.locked {
        settings.locked = locked;
    }
    if let Some(policy) = patch.guest_policy {
        settings.guest_policy = policy;
    }
    changed
}

/// Forgets individual decisions on the rights whose setting just changed.
pub fn reset_overrides(own: &mut Overrides, changed: &RightsPatch) {
    if changed.mic.is_some() {
        own.mic = None;
    }
    if changed.camera.is_some() {
        own.camera = None;
    }
    if changed.screen.is_some() {
        own.screen = None;
    }
    if changed.chat.is_some() {
        own.chat = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_give_their_defaults() {
        let settings = Settings::default();
        let none = Overrides::default();
        let teacher = effective(Role::Teacher, &settings, &none);
        assert!(teacher.mic && teacher.camera && teacher.screen && teacher.chat);
        assert_eq!(
            effective(Role::Observer, &settings, &none),
            Rights::default()
        );
        let pupil = effective(Role::Pupil, &settings, &none);
        assert!(pupil.mic && pupil.camera && pupil.chat && !pupil.screen);
    }

    #[test]
    fn individual_decisions_win_until_the_setting_changes() {
        let mut settings = Settings::default();
        let mut own = Overrides::default();
        own.apply(&RightsPatch {
            mic: Some(false),
            ..RightsPatch::default()
        });
        assert!(!effective(Role::Pupil, &settings, &own).mic);
        let changed = apply_settings(
            &mut settings,
            &SettingsPatch {
                pupil_mic: Some(false),
                ..SettingsPatch::default()
            },
        );
        reset_overrides(&mut own, &changed);
        assert_eq!(own, Overrides::default());
        assert!(!effective(Role::Pupil, &settings, &own).mic);
        // Teachers are never restricted by the settings.
        assert!(effective(Role::Teacher, &settings, &own).mic);
    }

    #[test]
    fn a_setting_given_its_current_value_changes_nothing() {
        let mut settings = Settings::default();
        let changed = apply_settings(
            &mut settings,
            &SettingsPatch {
                chat: Some(true),
                ..SettingsPatch::default()
            },
        );
        assert_eq!(changed, RightsPatch::default());
    }
}
