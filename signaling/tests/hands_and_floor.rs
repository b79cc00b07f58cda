//! Raised hands through the real server: an ordered queue everyone sees, lowered by the pupil or
//! the teacher; giving the floor grants the mic and lowers the hand, taking it back revokes it.

mod common;

use common::Client;
use serde_json::json;

#[tokio::test]
async fn hands_queue_in_order_and_the_teacher_lowers_one_or_all() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut a, a_id, _) = Client::joined(&server, &class, &class.pupil_token, "A").await;
    let (mut b, b_id, _) = Client::joined(&server, &class, &class.pupil_token, "B").await;
    b.send(json!({"type": "raise_hand"})).await;
    assert_eq!(b.expect_type("hands").await["queue"], json!([b_id]));
    assert_eq!(a.expect_type("hands").await["queue"], json!([b_id]));
    a.send(json!({"type": "raise_hand"})).await;
    // The pupil sees its place: second.
    assert_eq!(a.expect_type("hands").await["queue"], json!([b_id, a_id]));
    assert_eq!(teacher.expect_type("hands").await["queue"], json!([b_id]));
    assert_eq!(
        teacher.expect_type("hands").await["queue"],
        json!([b_id, a_id])
    );

    // A newcomer sees the queue in its welcome.
    let (_late, _, welcome) = Client::joined(&server, &class, &class.pupil_token, "C").await;
    assert_eq!(welcome["hands"], json!([b_id, a_id]));

    b.drain().await;
    b.send(json!({"type": "lower_hand"})).await;
    assert_eq!(b.expect_type("hands").await["queue"], json!([a_id]));
    teacher
        .send(json!({"type": "lower_hand", "participant": a_id}))
        .await;
    assert_eq!(teacher.expect_type("hands").await["queue"], json!([a_id]));
    assert_eq!(teacher.expect_type("hands").await["queue"], json!([]));

    a.send(json!({"type": "raise_hand"})).await;
    b.send(json!({"type": "raise_hand"})).await;
    b.expect_type("hands").await;
    b.drain().await;
    teacher.drain().await;
    teacher.send(json!({"type": "lower_all_hands"})).await;
    assert_eq!(teacher.expect_type("hands").await["queue"], json!([]));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn giving_the_floor_grants_the_mic_and_taking_it_back_revokes_it() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    teacher
        .send(json!({"type": "set_settings", "pupil_mic": false}))
        .await;
    teacher.expect_type("settings").await;
    let (mut pupil, pupil_id, welcome) =
        Client::joined(&server, &class, &class.pupil_token, "P").await;
    assert_eq!(welcome["you"]["rights"]["mic"], false);
    assert_eq!(welcome["settings"]["pupil_mic"], false);
    pupil.send(json!({"type": "raise_hand"})).await;
    pupil.expect_type("hands").await;
    teacher.drain().await;

    teacher
        .send(json!({"type": "give_floor", "participant": pupil_id}))
        .await;
    let rights = pupil.expect_type("rights").await;
    assert_eq!(rights["rights"]["mic"], true);
    assert_eq!(pupil.expect_type("hands").await["queue"], json!([]));
    let update = teacher.expect_type("participant_updated").await;
    assert_eq!(update["participant"]["rights"]["mic"], true);

    teacher
        .send(json!({"type": "take_floor", "participant": pupil_id}))
        .await;
    assert_eq!(pupil.expect_type("rights").await["rights"]["mic"], false);
    server.shutdown().await.expect("shutdown");
}
