// The RFC services' peer tests (rdate, netcat, socat, openbsd-inetd) against the compiled binary.
import { servicesScenarios } from "../peers/services.ts";
import { compiled } from "../support/binary.ts";

servicesScenarios(compiled);
