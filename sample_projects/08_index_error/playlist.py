"""An ordered music playlist with simple playback navigation."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Track:
    """A single track; ``seconds`` is its duration."""

    title: str
    artist: str
    seconds: int


class Playlist:
    """An ordered list of tracks with a play cursor."""

    def __init__(self, name, tracks=None):
        self.name = name
        self.tracks = list(tracks or [])
        self.position = 0

    def add(self, track):
        """Append ``track`` to the end of the playlist."""
        self.tracks.append(track)

    def current(self):
        """Return the track under the play cursor."""
        return self.tracks[self.position]

    def skip(self):
        """Advance to the next track, wrapping around at the end."""
        self.position = (self.position + 1) % len(self.tracks)
        return self.current()

    def last_track(self):
        """Return the final track in the playlist."""
        return self.tracks[len(self.tracks) - 1]

    def total_duration(self):
        """Total running time formatted as ``M:SS``."""
        minutes, seconds = divmod(sum(t.seconds for t in self.tracks), 60)
        return f"{minutes}:{seconds:02d}"
