// End-to-end lab scenarios with bind as every POP's ISP resolver (see e2e-scenarios.ts).
// glb-test-timeout: 420
import {runScenarios} from './e2e-scenarios.js'

runScenarios('bind')
