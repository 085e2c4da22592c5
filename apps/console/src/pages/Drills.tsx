/** Placeholder until the guided drills land; kept as its own module so it can be replaced whole. */
export default function DrillsPage() {
  return (
    <section className="panel" aria-label="Drills">
      <h2>Drills</h2>
      <p>
        Guided failure drills are being built and are not available in this version of the console. Nothing on this
        page runs a fault yet.
      </p>
      <p className="muted">
        Until then, the fault surface is reachable over HTTP and the CLI for operators holding the token; every such
        action is recorded on the Audit page.
      </p>
    </section>
  );
}
