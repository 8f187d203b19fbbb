// Snapshot tests of the grammar over every .flow file of the examples and
// every flow block of the language tour. The sources are copied into
// test/snap/ (not committed); their snapshots (*.flow.snap) are. A snapshot
// that changed fails the run; a missing one is written by the tool without
// failing, so this script then fails on any snapshot git does not know or
// sees changed. `node test/snapshots.js --update` rewrites them.
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const here = path.resolve(__dirname, "..");
const root = path.resolve(here, "..", "..");
const snap = path.join(here, "test", "snap");
const update = process.argv.includes("--update");

function flowFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...flowFiles(full));
    else if (entry.name.endsWith(".flow")) out.push(full);
  }
  return out.sort();
}

fs.mkdirSync(snap, { recursive: true });
for (const f of fs.readdirSync(snap)) if (f.endsWith(".flow")) fs.unlinkSync(path.join(snap, f));
const sources = [];
for (const file of flowFiles(path.join(root, "examples"))) {
  const name = path.relative(root, file).split(path.sep).join("__");
  fs.copyFileSync(file, path.join(snap, name));
  sources.push(name);
}
const tour = path.resolve(root, "..", "shared", "language-tour.md");
if (fs.existsSync(tour)) {
  const blocks = fs.readFileSync(tour, "utf8").match(/```flow\n[\s\S]*?```/g) || [];
  blocks.forEach((block, i) => {
    const body = block.slice("```flow\n".length, -3);
    const named = body.match(/^#\s*(\S+)\.flow/);
    const name = `tour__${String(i + 1).padStart(2, "0")}_${named ? named[1] : "block"}.flow`;
    fs.writeFileSync(path.join(snap, name), body);
    sources.push(name);
  });
} else {
  console.error(`the language tour is not at ${tour}: its snapshots are not checked`);
  process.exitCode = 1;
}

const tool = path.join(here, "node_modules", ".bin", "vscode-tmgrammar-snap");
const args = [path.join("test", "snap", "*.flow")];
if (update) args.push("--updateSnapshot");
try {
  execFileSync(tool, args, { cwd: here, stdio: "inherit" });
} catch (e) {
  console.error("grammar snapshots differ: review, then `node test/snapshots.js --update` and commit");
  process.exit(1);
}
if (!update) {
  const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=all", "--", "test/snap"], {
    cwd: here,
    encoding: "utf8",
  })
    .split("\n")
    .filter((l) => l.endsWith(".snap"));
  if (status.length) {
    console.error("grammar snapshots not committed:\n" + status.join("\n"));
    process.exit(1);
  }
}
console.log(`grammar snapshots: ${sources.length} files`);
