package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the controller's hardware abstraction layer endpoints take ({@code PUT agent/hal/hw}
 * and {@code agent/hal/usb}, each {@code {"info":"<JSON text>"}}): the CPU, memory and
 * operating system, and the USB devices plugged in (from sysfs; rescanned every
 * {@code deviceScanFrequency} seconds and sent again when they change).
 */
final class HardwareInfo {

    private HardwareInfo() {
    }

    static String hardware() throws JsonProcessingException {
        Map<String, Object> hw = new LinkedHashMap<>();
        hw.put("cpus", Runtime.getRuntime().availableProcessors());
        String model = cpuModel();
        if (!model.isEmpty()) {
            hw.put("cpuModel", model);
        }
        long memory = memoryTotal();
        if (memory > 0) {
            hw.put("memoryBytes", memory);
        }
        hw.put("arch", System.getProperty("os.arch"));
        hw.put("os", System.getProperty("os.name"));
        hw.put("kernel", System.getProperty("os.version"));
        return ControllerApi.JSON.writeValueAsString(hw);
    }

    static String usb(Path sysBusUsbDevices) throws JsonProcessingException {
        List<Map<String, String>> devices = new ArrayList<>();
        if (Files.isDirectory(sysBusUsbDevices)) {
            Map<String, Map<String, String>> sorted = new TreeMap<>();
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(sysBusUsbDevices)) {
                for (Path d : dirs) {
                    Path vendor = d.resolve("idVendor");
                    if (!Files.exists(vendor)) {
                        continue; // an interface, not a device
                    }
                    Map<String, String> dev = new LinkedHashMap<>();
                    dev.put("device", d.getFileName().toString());
                    dev.put("vendorId", read(vendor));
                    dev.put("productId", read(d.resolve("idProduct")));
                    String manufacturer = read(d.resolve("manufacturer"));
                    String product = read(d.resolve("product"));
                    if (!manufacturer.isEmpty()) {
                        dev.put("manufacturer", manufacturer);
                    }
                    if (!product.isEmpty()) {
                        dev.put("product", product);
                    }
                    sorted.put(d.getFileName().toString(), dev);
                }
            } catch (IOException e) {
                // unreadable sysfs: report what we have
            }
            devices.addAll(sorted.values());
        }
        return ControllerApi.JSON.writeValueAsString(devices);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p).strip() : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return "";
    }

    private static long memoryTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }
}
