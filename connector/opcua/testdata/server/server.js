// An independent OPC UA server for the connector's tests: node-opcua (npm),
// not the Go module the connector uses. It serves one UInt32 counter,
// ns=1;s=Line1.GoodCount, with the security policies None and
// Basic256Sha256 (Sign, SignAndEncrypt), anonymous access and the user
// "operator" with password "secret". Client certificates are trusted when
// they lie in PKI/trusted/certs (the test puts its own there) .
//
//   node server.js PORT PKI_DIR [COUNTER]
//
// Commands on standard input, one a line ("ok" answers each):
//   set N   the counter becomes N (mod 2^32): set 0 is a restart of the counter
//   add N   the counter increases by N, wrapping at 2^32
// It prints "listening PORT" when ready, and its certificate's path.
"use strict";
const path = require("path");
const readline = require("readline");
const {
  OPCUAServer, OPCUACertificateManager, DataType, Variant, StatusCodes,
  SecurityPolicy, MessageSecurityMode,
} = require("node-opcua");

const [port, pkiDir, initial] = [Number(process.argv[2]), process.argv[3], process.argv[4] || "0"];
let counter = Number(BigInt(initial) % 4294967296n);

(async () => {
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(pkiDir, "server"),
    automaticallyAcceptUnknownCertificate: false,
  });
  await serverCertificateManager.initialize();
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    serverCertificateManager,
    certificateFile: path.join(pkiDir, "server_cert.pem"),
    privateKeyFile: serverCertificateManager.privateKey,
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
    allowAnonymous: true,
    userManager: {
      isValidUser: (user, password) => user === "operator" && password === "secret",
    },
  });
  await server.initialize();
  const ns = server.engine.addressSpace.getOwnNamespace();
  const line = ns.addObject({ organizedBy: server.engine.addressSpace.rootFolder.objects, browseName: "Line1" });
  ns.addVariable({
    componentOf: line,
    browseName: "GoodCount",
    nodeId: "s=Line1.GoodCount",
    dataType: "UInt32",
    minimumSamplingInterval: 50,
    value: {
      get: () => new Variant({ dataType: DataType.UInt32, value: counter }),
      set: () => StatusCodes.BadNotWritable,
    },
  });
  await server.start();
  console.log("listening " + server.endpoints[0].port);
  console.log("trusted " + path.join(pkiDir, "server", "trusted", "certs"));

  readline.createInterface({ input: process.stdin }).on("line", (l) => {
    const [cmd, arg] = l.trim().split(/\s+/);
    if (cmd === "set") counter = Number(BigInt(arg) % 4294967296n);
    else if (cmd === "add") counter = Number((BigInt(counter) + BigInt(arg)) % 4294967296n);
    console.log("ok");
  }).on("close", async () => {
    await server.shutdown(0);
    process.exit(0);
  });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
