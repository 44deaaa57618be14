// Applies the bus's users and ACLs to a running broker through Kafka's Admin API.
//
// Run by deploy/local/stack.py (`up --auth`) as a single-file program on the
// broker's own classpath (no build step, no extra jars):
//
//   java -cp '<kafka jars>/*' BusAccess.java <bootstrap> < plan
//
// The operator's password comes in the BUS_OPERATOR_PASSWORD environment
// variable (never an argument: `ps` shows arguments). The plan, on stdin, is
// what stack.py builds from `python -m shoptrail.events.acl plan`, one
// tab-separated line each:
//
//   user  <name>  <password>
//   acl   <user>  <TOPIC|GROUP>  <resource name>  <READ|WRITE>  <LITERAL|PREFIXED>
//
// The result is exactly the plan: SCRAM-SHA-512 credentials set (again) for
// every user, missing ACLs created, ACLs not in the plan deleted.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class BusAccess {
    public static void main(String[] args) throws Exception {
        String password = System.getenv("BUS_OPERATOR_PASSWORD");
        String operator = System.getenv().getOrDefault("BUS_OPERATOR_USER", "admin");
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", "PLAIN");
        props.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                        + operator + "\" password=\"" + password + "\";");
        props.put("default.api.timeout.ms", "60000");

        List<UserScramCredentialAlteration> users = new ArrayList<>();
        Set<AclBinding> wanted = new HashSet<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            if (f[0].equals("user")) {
                users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[2]));
            } else if (f[0].equals("acl")) {
                wanted.add(new AclBinding(
                        new ResourcePattern(
                                ResourceType.fromString(f[2]), f[3], PatternType.fromString(f[5])),
                        new AccessControlEntry(
                                "User:" + f[1], "*", AclOperation.fromString(f[4]), AclPermissionType.ALLOW)));
            } else {
                throw new IllegalArgumentException("unknown plan line: " + f[0]);
            }
        }
        try (Admin admin = Admin.create(props)) {
            if (!users.isEmpty()) admin.alterUserScramCredentials(users).all().get();
            List<AclBindingFilter> stale = new ArrayList<>();
            for (AclBinding existing : admin.describeAcls(AclBindingFilter.ANY).values().get()) {
                if (!wanted.contains(existing)) stale.add(existing.toFilter());
            }
            if (!stale.isEmpty()) admin.deleteAcls(stale).all().get();
            admin.createAcls(new ArrayList<>(wanted)).all().get();
            System.out.printf("%d users, %d ACLs (%d stale removed)%n", users.size(), wanted.size(), stale.size());
        }
    }
}
