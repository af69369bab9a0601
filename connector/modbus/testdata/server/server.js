// An independent Modbus TCP server for the connector's tests: modbus-serial
// (npm), not the Go module the connector uses. It serves one 32-bit counter
// in holding registers 0-1 (most significant word first) and the same
// counter in input registers 10-11 with the low word first and each
// register byte-swapped. Commands on standard input, one a line:
//   set N   the counter becomes N (mod 2^32)
//   add N   the counter increases by N, wrapping at 2^32
//   stop    the server stops answering (closes its socket)
// It prints "listening PORT" when ready and "ok" after each command.
"use strict";
const ModbusRTU = require("modbus-serial");
const readline = require("readline");

let counter = 0;
const words = () => [(counter >>> 16) & 0xffff, counter & 0xffff];
const swap = (w) => ((w & 0xff) << 8) | (w >>> 8);

const vector = {
  getHoldingRegister(addr) {
    if (addr > 1) throw { modbusErrorCode: 0x02, msg: "illegal address" };
    return words()[addr];
  },
  getInputRegister(addr) {
    if (addr < 10 || addr > 11) throw { modbusErrorCode: 0x02, msg: "illegal address" };
    const [hi, lo] = words();
    return swap(addr === 10 ? lo : hi);
  },
};

const server = new ModbusRTU.ServerTCP(vector, { host: "127.0.0.1", port: Number(process.argv[2] || 0), unitID: 1 });
server.on("initialized", () => {
  console.log("listening " + server._server.address().port);
});
server.on("socketError", () => {});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === "set") counter = Number(BigInt(arg) % 4294967296n);
  else if (cmd === "add") counter = Number((BigInt(counter) + BigInt(arg)) % 4294967296n);
  else if (cmd === "stop") { server.close(() => {}); }
  console.log("ok");
}).on("close", () => process.exit(0));
