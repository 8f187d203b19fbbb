// Starts `orderflow lsp` as the language server for .flow files. Everything
// the editor learns (diagnostics, hover, definitions, completion, symbols,
// formatting) comes from the orderflow binary, so the extension stays thin.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("orderflow").get("path") || "orderflow";
  const server = { command, args: ["lsp", "--stdio"] };
  client = new LanguageClient(
    "orderflow",
    "OrderFlow language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "orderflow" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `OrderFlow: cannot start '${command} lsp' (${error.message}). Set orderflow.path to the orderflow binary.`
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
