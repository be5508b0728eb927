#!/usr/bin/env python3
"""Writes MIDI files of instrumental classical works from music21's corpus,
one movement per work, each part on its own General MIDI instrument; called
by render-classical.sh, which renders them to audio. The list was fixed
before any rendering was heard or classified (models/README.md, "Classical scores
rendered")."""
import sys

import music21

# One movement per work (the first), instrumental only: the corpus's
# string quartets, piano and chamber works. Left out: Bach's chorales and
# the Monteverdi / Palestrina / Josquin vocal works, the Lieder and arias.
WORKS = [
    "beethoven/opus18no1/movement1", "beethoven/opus18no3", "beethoven/opus18no4",
    "beethoven/opus18no5", "beethoven/opus59no1/movement1", "beethoven/opus59no2/movement1",
    "beethoven/opus59no3/movement1", "beethoven/opus74", "beethoven/opus132", "beethoven/opus133",
    "haydn/opus1no1/movement1", "haydn/opus74no1/movement1",
    "mozart/k80/movement1", "mozart/k155/movement1", "mozart/k156/movement1",
    "mozart/k458/movement1", "mozart/k545/movement1_exposition",
    "schumann_robert/opus41no1/movement1",
    "schumann_clara/polonaise_op1n1", "schumann_clara/polonaise_op1n2",
    "schumann_clara/polonaise_op1n3", "schumann_clara/polonaise_op1n4",
    "schumann_clara/opus17/movement3",
    "corelli/opus3no1/1grave", "cpebach/h186", "weber/concertino_clarinet",
]

# General MIDI programs by the part's instrument name; the corpus files
# mostly say "String Ensemble" for every part.
PROGRAMS = [
    ("violoncello", 42), ("cello", 42), ("viola", 41), ("violin", 40), ("contrabass", 43),
    ("bass", 43), ("piano", 0), ("clarinet", 71), ("flute", 73), ("oboe", 68),
    ("bassoon", 70), ("horn", 60), ("trumpet", 56), ("harpsichord", 6), ("continuo", 6),
]


def program_for(part):
    name = (part.partName or part.getInstrument().instrumentName or "").lower()
    for word, program in PROGRAMS:
        if word in name:
            return program
    return 48  # string ensemble


def main(out_dir):
    for work in WORKS:
        score = music21.corpus.parse(work)
        # Repeats are played once through, as written: expanding them
        # hangs on some of these encodings, and a patch sample does not
        # need the repeat.
        for measure in score.recurse().getElementsByClass(music21.stream.Measure):
            if isinstance(measure.leftBarline, music21.bar.Repeat):
                measure.leftBarline = None
            if isinstance(measure.rightBarline, music21.bar.Repeat):
                measure.rightBarline = None
        for mark in list(score.recurse().getElementsByClass(music21.repeat.RepeatExpression)):
            mark.activeSite.remove(mark)
        for ending in list(score.recurse().getElementsByClass(music21.spanner.RepeatBracket)):
            ending.activeSite.remove(ending)
        for part in score.parts:
            program = program_for(part)
            for inst in part.recurse().getElementsByClass(music21.instrument.Instrument):
                inst.midiProgram = program
                # Some encodings put every part on channel 1, where the
                # last program change would win: let music21 give each
                # part its own channel.
                inst.midiChannel = None
        name = work.replace("/", "-")
        score.write("midi", fp=f"{out_dir}/{name}.mid")
        print(name, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
