// An edge node of the Eclipse Tahu JavaScript client (sparkplug-client)
// for waarborg's Sparkplug tests. Settings come from the environment.
//
// PHASE=1 publishes, with metric timestamps from BASE_MS on: NBIRTH and
// DBIRTH with aliases, NDATA and DDATA by alias, one deliberately skipped
// seq number, an alarm that goes on and off, a DDEATH, and then dies
// without disconnecting, so that the broker sends its will (the NDEATH).
//
// PHASE=2 is a later session whose bdSeq skips one (2 after 0: a session
// was missed), with one more count, ended by a clean stop that publishes
// the NDEATH itself.
const sparkplug = require("sparkplug-client");

const base = Number(process.env.BASE_MS);
const at = (s) => base + s * 1000;
const device = "plc1";

const phase2 = process.env.PHASE === "2";

const client = sparkplug.newClient({
  serverUrl: process.env.BROKER_URL,
  username: process.env.BROKER_USER,
  password: process.env.BROKER_PASSWORD,
  groupId: "ede",
  edgeNode: "ede-l1",
  clientId: "tahu-ede-l1",
  version: "spBv1.0",
  publishDeath: true,
});
if (phase2) client.bdSeq = 2; // the client keeps it in memory only

const count = (s, v) => ({ alias: 1, type: "UInt32", value: v, timestamp: at(s) });
const alarm = (s, v) => ({ alias: 2, type: "Boolean", value: v, timestamp: at(s) });
const temp = (s, v) => ({ alias: 1, type: "Double", value: v, timestamp: at(s) });

const steps = [
  () => client.publishNodeBirth({ timestamp: at(0), metrics: [
    { name: "Line1/GoodCount", alias: 1, type: "UInt32", value: 1000, timestamp: at(0) },
    { name: "Line1/Alarm/Overtemp", alias: 2, type: "Boolean", value: false, timestamp: at(0) },
  ] }),
  () => client.publishDeviceBirth(device, { timestamp: at(0), metrics: [
    { name: "Oven/Temp", alias: 1, type: "Double", value: 180.5, timestamp: at(0) },
  ] }),
  () => client.publishNodeData({ timestamp: at(20), metrics: [count(20, 1010)] }),
  () => client.publishNodeData({ timestamp: at(40), metrics: [count(40, 1025)] }),
  () => client.publishDeviceData(device, { timestamp: at(45), metrics: [temp(45, 181.25)] }),
  () => client.publishNodeData({ timestamp: at(70), metrics: [count(70, 1040)] }),
  () => { client.seq++; }, // a message that never reaches the broker: a seq gap
  () => client.publishNodeData({ timestamp: at(80), metrics: [count(80, 1060)] }),
  () => client.publishNodeData({ timestamp: at(85), metrics: [alarm(85, true)] }),
  () => client.publishNodeData({ timestamp: at(95), metrics: [alarm(95, false)] }),
  () => client.publishNodeData({ timestamp: at(130), metrics: [count(130, 1100)] }),
  () => client.publishDeviceDeath(device, { timestamp: at(140), metrics: [] }),
];

const steps2 = [
  () => client.publishNodeBirth({ timestamp: at(200), metrics: [
    { name: "Line1/GoodCount", alias: 1, type: "UInt32", value: 1150, timestamp: at(200) },
    { name: "Line1/Alarm/Overtemp", alias: 2, type: "Boolean", value: false, timestamp: at(200) },
  ] }),
  () => client.publishNodeData({ timestamp: at(210), metrics: [count(210, 1160)] }),
];

client.on("error", (err) => { console.error("tahu:", err.message); process.exit(1); });
client.on("birth", () => {
  if (phase2) {
    for (const step of steps2) step();
    client.stop(); // publishes the NDEATH, then disconnects
    client.client.on("end", () => process.exit(0));
    return;
  }
  for (const step of steps) step();
  // Once mqtt.js has written everything out, drop the connection without
  // a DISCONNECT: the broker publishes the NDEATH will.
  const stream = client.client.stream;
  const drop = () => {
    if (stream.writableLength > 0) return setTimeout(drop, 50);
    setTimeout(() => { stream.destroy(); process.exit(0); }, 200);
  };
  setTimeout(drop, 300);
});
