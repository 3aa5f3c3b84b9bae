// Runs once when the Next server starts: bring the database schema up to date.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { auth } = await import('./lib/auth');
  const { applied } = await auth.migrate();
  if (applied.length > 0) console.log(`gatehouse: applied migrations ${applied.join(', ')}`);
}
