from playlist import Playlist, Track

A = Track("Intro", "The Examples", 95)
B = Track("Second Song", "The Examples", 200)
C = Track("Closer", "Someone Else", 185)


def test_last_track():
    playlist = Playlist("Road trip", [A, B, C])
    assert playlist.last_track() == C


def test_last_track_after_add():
    playlist = Playlist("Road trip", [A])
    playlist.add(B)
    assert playlist.last_track() == B


def test_skip_wraps_around():
    playlist = Playlist("Loop", [A, B])
    assert playlist.skip() == B
    assert playlist.skip() == A


def test_total_duration_formatting():
    assert Playlist("All", [A, B, C]).total_duration() == "8:00"
