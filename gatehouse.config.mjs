// Read by the `gatehouse` CLI when run from this folder: the demo's roles, so that
// `npm run cli -- users set-role --role editor` knows "editor". Your app exports its own.
import { demoAuthz } from './dist/demo/authz.js';

export default { authz: demoAuthz };
