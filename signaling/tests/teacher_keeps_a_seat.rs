//! One pupil link opened many times cannot lock the teacher out of the class, nor fill the lobby
//! so that a real pupil finds no place: seats are kept for teachers, and one address holds at most
//! `lobby_places_per_address` places in the lobby.

mod common;

use std::net::{IpAddr, SocketAddr};

use common::{Class, Client};
use serde_json::json;
use signaling::Server;
use tokio::net::TcpSocket;

/// A client whose connection comes from `local` (any 127.x.y.z is this machine on Linux), as a
/// second household or school would.
async fn connect_via(server: &Server, local: IpAddr) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(local, 0))
        .expect("bind a second loopback address");
    let stream = socket.connect(server.http_addr).await.expect("connect");
    let url = format!("ws://{}/ws", server.http_addr);
    let (ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("ws connects");
    Client { ws }
}

fn join(class: &Class, token: &str, name: &str) -> serde_json::Value {
    json!({"type": "join", "version": 1, "room": class.room, "token": token, "name": name})
}

#[tokio::test]
async fn a_class_flooded_through_the_pupil_link_still_admits_its_teachers() {
    let mut config = common::test_config();
    config.max_participants_per_room = 5;
    config.limits.teacher_seats = 2;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;

    // The pupil link, opened again and again from one machine: three seats, then refusals.
    let mut seated = Vec::new();
    for i in 0..3 {
        let (client, _, _) =
            Client::joined(&server, &class, &class.pupil_token, &format!("P{i}")).await;
        seated.push(client);
    }
    for i in 0..10 {
        let mut extra = Client::connect(&server).await;
        extra
            .send(join(&class, &class.pupil_token, &format!("X{i}")))
            .await;
        let error = extra.expect_error("room_full").await;
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("full")),
            "{error}"
        );
        extra.expect_close(4003).await;
    }
    let mut observer = Client::connect(&server).await;
    observer
        .send(join(&class, &class.observer_token, "O"))
        .await;
    observer.expect_error("room_full").await;

    // The teacher and a co-teacher still get in, and the pupils are told.
    let (_teacher, _, welcome) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    assert_eq!(welcome["you"]["role"], "teacher");
    let (_co, _, _) = Client::joined(&server, &class, &class.teacher_token, "T2").await;
    loop {
        let told = seated[0].expect_type("participant_joined").await;
        if told["participant"]["role"] == "teacher" {
            break;
        }
    }

    // Every seat taken now: even a third teacher is refused, with the same clear code.
    let mut third = Client::connect(&server).await;
    third.send(join(&class, &class.teacher_token, "T3")).await;
    third.expect_error("room_full").await;
}

#[tokio::test]
async fn one_address_cannot_fill_the_lobby() {
    let mut config = common::test_config();
    config.max_lobby = 10;
    config.limits.lobby_places_per_address = 2;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    teacher
        .send(json!({"type": "set_guest_policy", "policy": "ask_teacher"}))
        .await;
    teacher.expect_type("settings").await;

    let mut waiting = Vec::new();
    for i in 0..2 {
        let mut client = Client::connect(&server).await;
        client
            .send(join(&class, &class.pupil_token, &format!("W{i}")))
            .await;
        client.expect_type("lobby_waiting").await;
        waiting.push(client);
    }
    for i in 0..5 {
        let mut client = Client::connect(&server).await;
        client
            .send(join(&class, &class.pupil_token, &format!("F{i}")))
            .await;
        let error = client.expect_error("lobby_full").await;
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("your network")),
            "{error}"
        );
    }

    // A pupil from elsewhere still finds a place, and the teacher sees exactly who waits.
    let mut real = connect_via(&server, "127.0.0.2".parse().expect("ip")).await;
    real.send(join(&class, &class.pupil_token, "Real Pupil"))
        .await;
    real.expect_type("lobby_waiting").await;
    let mut lobby = teacher.expect_type("lobby").await;
    while lobby["waiting"].as_array().map_or(0, Vec::len) < 3 {
        lobby = teacher.expect_type("lobby").await;
    }
    assert_eq!(lobby["waiting"][2]["name"], "Real Pupil");
    assert!(
        !lobby.to_string().contains("127.0.0"),
        "addresses are never shown: {lobby}"
    );
    let real_id = lobby["waiting"][2]["id"].as_str().expect("id").to_owned();
    teacher
        .send(json!({"type": "admit", "participant": real_id}))
        .await;
    real.expect_type("welcome").await;

    // A guest of the busy address leaves: that address has a place again.
    let mut gone = waiting.pop().expect("one waits");
    gone.ws.close(None).await.expect("close");
    loop {
        let lobby = teacher.expect_type("lobby").await;
        if lobby["waiting"].as_array().map_or(0, Vec::len) == 1 {
            break;
        }
    }
    let mut again = Client::connect(&server).await;
    again.send(join(&class, &class.pupil_token, "Again")).await;
    again.expect_type("lobby_waiting").await;
}
