// The example's own data: notes, kept in memory (they are gone when the server restarts).
export interface Note {
  id: number;
  author: string;
  text: string;
  at: string;
}

const globalWithNotes = globalThis as typeof globalThis & { notes?: Note[] };
const notes: Note[] = (globalWithNotes.notes ??= []);

export function listNotes(): Note[] {
  return [...notes].reverse();
}

export function addNote(author: string, text: string): Note {
  const note = { id: notes.length + 1, author, text, at: new Date().toISOString() };
  notes.push(note);
  return note;
}
