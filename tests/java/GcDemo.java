import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/** Allocates, forces two full collections, reports what the JVM's own management API says, and
 * waits for stdin to close so the test reads every tool at the same quiescent moment. */
public class GcDemo {
    static volatile Object sink;

    public static void main(String[] args) throws Exception {
        List<byte[]> keep = new ArrayList<>();
        for (int i = 0; i < 20000; i++) {
            sink = new byte[1024 * (1 + i % 64)];
            if (i % 100 == 0) {
                keep.add(new byte[256 * 1024]);
                if (keep.size() > 40) keep.remove(0);
            }
        }
        long before = System.currentTimeMillis();
        System.gc();
        System.gc();
        long after = System.currentTimeMillis();
        StringBuilder out = new StringBuilder();
        out.append("gc_window ").append(before).append(' ').append(after).append('\n');
        out.append("vm_start ").append(ManagementFactory.getRuntimeMXBean().getStartTime()).append('\n');
        out.append("threads ").append(ManagementFactory.getThreadMXBean().getThreadCount()).append('\n');
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            com.sun.management.GcInfo last = ((com.sun.management.GarbageCollectorMXBean) b).getLastGcInfo();
            out.append("collector ").append(b.getName().replace(' ', '_')).append(' ')
               .append(b.getCollectionCount()).append(' ')
               .append(last == null ? -1 : last.getEndTime()).append(' ')
               .append(last == null ? -1 : last.getDuration()).append('\n');
        }
        out.append("ready\n");
        System.out.print(out);
        System.out.flush();
        while (System.in.read() != -1) { }
    }
}
